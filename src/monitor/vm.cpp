#include "monitor/vm.hpp"

namespace lightvm {

namespace detail {
void clear_stop_requests();  // vm_run.cpp
}

Result<RunReport> run_vm(const VmConfig& config, const RunHooks& hooks) {
    const uint64_t t0 = monotonic_ns();
    detail::clear_stop_requests();
    auto work = TRY(Workload::prepare(config));
    auto vm = TRY(Vm::create(work.shape()));
    vm.set_time_base(t0);
    if (config.defer_teardown)
        vm.leave_teardown_to_exit();
    TRY(vm.load(std::move(work)));
    // Hook point between load and run: see RunHooks::before_run.
    if (hooks.before_run)
        TRY(hooks.before_run(vm));
    return vm.run();
}

}  // namespace lightvm
