#include "oci/cgroup_setup.hpp"

#include <unistd.h>

#include "oci/cgroups/path.hpp"

namespace lightvm::oci {

Result<cgroups::Cgroup> make_container_cgroup(const ContainerSpec& spec, const std::string& id, bool systemd,
                                              std::vector<std::string>& warnings) {
    const cgroups::Hierarchy h = TRY(cgroups::detect());
    cgroups::Cgroup cg(h, TRY(cgroups::cgroup_path(spec.cgroups_path, id, systemd)));
    TRY(cg.create());
    auto applied = cg.apply(cgroups::host_limits(spec.resources, spec.vm.mem_size), warnings);
    if (!applied) {
        discard_cgroup(cg);
        return tl::unexpected(applied.error());
    }
    return cg;
}

void record_cgroup(ContainerRecord& r, const cgroups::Cgroup& cg) {
    r.cgroup_path = cg.path();
    r.cgroup_v2 = cg.hierarchy().version == cgroups::Version::V2;
    r.cgroup_mount = cg.hierarchy().mount;
}

std::optional<cgroups::Cgroup> recorded_cgroup(const ContainerRecord& r) {
    if (r.cgroup_path.empty())
        return std::nullopt;
    return cgroups::Cgroup({r.cgroup_v2 ? cgroups::Version::V2 : cgroups::Version::V1, r.cgroup_mount}, r.cgroup_path);
}

void discard_cgroup(const cgroups::Cgroup& cg) {
    // The leaf, and the parents create made (/docker when it was the first).
    (void)cg.remove();
    const auto& made = cg.made();
    for (auto it = made.rbegin(); it != made.rend(); ++it)
        ::rmdir(it->c_str());
}

}  // namespace lightvm::oci
