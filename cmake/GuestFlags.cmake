# Compile flags for code that runs inside the guest kernel: the kernel
# itself (guest/) and the guest flavour of freestanding/. Defined once, here.
# No libc, no exceptions/RTTI, no SSE (the kernel must not clobber the app's
# vector registers across a syscall), no red zone (interrupts and faults
# push onto the kernel stack), no PIC (fixed link address, kernel.ld).
set(LIGHTVM_GUEST_CFLAGS
  -ffreestanding -fno-exceptions -fno-rtti -fno-asynchronous-unwind-tables
  -fno-stack-protector -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only
  -fno-threadsafe-statics -fno-builtin -O2 -Wall -Wextra
  -Wno-missing-field-initializers)
add_library(lightvm_guest_flags INTERFACE)
target_compile_options(lightvm_guest_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${LIGHTVM_GUEST_CFLAGS}>)
