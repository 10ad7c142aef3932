#include "kernel/exec/boot_exec.hpp"

#include "kernel/dev/console.hpp"
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/kernel_open.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/proc/task.hpp"

namespace lightvm::guest {

namespace {

[[noreturn]] void fail(const char* what, const char* detail = nullptr) {
    static const char prefix[] = "lightvm guest: cannot start the program: ";
    console_write(abi::kStreamStderr, prefix, sizeof prefix - 1);
    console_write(abi::kStreamStderr, what, strlen(what));
    if (detail) {
        console_write(abi::kStreamStderr, " ", 1);
        console_write(abi::kStreamStderr, detail, strlen(detail));
    }
    console_write(abi::kStreamStderr, "\n", 1);
    exit_vm(127, 0);
}

// argc strings, then envc strings, then AT_EXECFN, packed by the monitor.
exec::Strings take_strings(const char*& p, const char* end, uint32_t count) {
    exec::Strings s{p, 0, count};
    for (uint32_t i = 0; i < count && p < end; ++i)
        p += strlen(p) + 1;
    s.size = static_cast<size_t>(p - s.data);
    return s;
}

ProgramArgs boot_args() {
    const abi::BootInfo& b = boot();
    const char* p = static_cast<const char*>(phys_to_virt(b.args_gpa));
    const char* end = p + b.args_size;
    ProgramArgs args;
    args.argv = take_strings(p, end, b.argc);
    args.envp = take_strings(p, end, b.envc);
    args.execfn = {p, p < end ? strlen(p) : 0};
    return args;
}

// The first program's name (/proc/1/comm, ps): its file's basename, as
// execve names a program.
void name_boot_task() {
    const char* path = boot().exe_path;
    const char* base = path;
    for (const char* p = path; *p; ++p)
        if (*p == '/')
            base = p + 1;
    size_t n = strlen(base);
    Task* t = current();
    if (n == 0)
        return;
    if (n > sizeof t->comm - 1)
        n = sizeof t->comm - 1;
    memset(t->comm, 0, sizeof t->comm);
    memcpy(t->comm, base, n);
}

}  // namespace

ProgramStart exec_boot_program() {
    name_boot_task();
    const abi::BootInfo& b = boot();
    ProgramSource src{nullptr, static_cast<const uint8_t*>(phys_to_virt(b.image_gpa)), b.image_size, b.image_size,
                      nullptr};
    elf::Image img;
    elf::Problem pr = elf::parse(src.head, src.head_len, src.size, &img);
    if (!pr.ok())
        fail(elf::message(pr.status));
    if (img.has_interp) {
        const char* path = exec_interp_path(img, src);
        if (!path)
            fail("bad PT_INTERP");
        if (kernel_open(path, &src.interp) < 0)
            fail("interpreter not found in the guest's file system (share it with --rootfs or --fs):", path);
    }
    ProgramStart start;
    LoadError e = exec_load(src, img, boot_args(), &start);
    if (e.err)
        fail(e.what, e.err == -err::kLibBad ? exec_interp_path(img, src) : nullptr);
    if (src.interp)
        file_put(src.interp);  // the mappings hold their own references
    return start;
}

}  // namespace lightvm::guest
