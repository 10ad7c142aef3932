// ocicheck: the parts of the OCI runtime-tools that Debian ships (the
// generate and validate libraries of golang-github-opencontainers-runtime-tools-dev,
// the runtime-spec's JSON schemas), as commands for oci_validation.sh:
//
//	ocicheck config BUNDLE ROOTFS HOOK ARG...
//	                                      runtime-tools' default Linux config
//	                                      (generate.New), with ROOTFS and ARGs;
//	                                      HOOK (unless "-") as the prestart,
//	                                      poststart and poststop hook, given
//	                                      the hook's name as its argument
//	ocicheck validate BUNDLE              runtime-tools' bundle validation
//	ocicheck state FILE                   a `state` output against the
//	                                      runtime-spec's state schema; prints
//	                                      "STATUS PID"
//	ocicheck cgroups PID CGROUPSPATH      the container's cgroup as runtime-tools'
//	                                      cgroups package reads it (what its
//	                                      linux_cgroups_* programs compare with
//	                                      the config): "SHARES QUOTA PERIOD
//	                                      PIDS MEMORY"
//
// Built offline by the test (GOPATH mode over /usr/share/gocode); exits 1
// with the reasons on stderr when a check fails.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hashicorp/go-multierror"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-tools/cgroups"
	"github.com/opencontainers/runtime-tools/generate"
	"github.com/opencontainers/runtime-tools/validate"
	"github.com/xeipuuv/gojsonschema"
)

// The runtime-spec's schemas as Debian installs them (validate's own
// CheckJSONSchema fetches them from GitHub, which a test cannot).
const schemaDir = "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema"

func main() {
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: ocicheck config|validate|state ARGS"))
	}
	var err error
	switch os.Args[1] {
	case "config":
		err = writeConfig(os.Args[2:])
	case "validate":
		err = validateBundle(os.Args[2])
	case "state":
		err = checkState(os.Args[2])
	case "cgroups":
		err = readCgroups(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ocicheck:", err)
	os.Exit(1)
}

func writeConfig(args []string) error {
	if len(args) < 4 {
		return fmt.Errorf("usage: ocicheck config BUNDLE ROOTFS HOOK ARG...")
	}
	g, err := generate.New("linux")
	if err != nil {
		return err
	}
	g.SetRootPath(args[1])
	g.SetProcessArgs(args[3:])
	if hook := args[2]; hook != "-" {
		g.AddPreStartHook(rspec.Hook{Path: hook, Args: []string{hook, "prestart"}})
		g.AddPostStartHook(rspec.Hook{Path: hook, Args: []string{hook, "poststart"}})
		g.AddPostStopHook(rspec.Hook{Path: hook, Args: []string{hook, "poststop"}})
	}
	return g.SaveToFile(filepath.Join(args[0], "config.json"), generate.ExportOptions{})
}

// validateBundle runs validate's CheckAll, with the schema check done
// against the local schema instead of its URL.
func validateBundle(bundle string) error {
	if err := schemaCheck("config-schema.json", filepath.Join(bundle, "config.json")); err != nil {
		return err
	}
	v, err := validate.NewValidatorFromPath(bundle, true, "linux")
	if err != nil {
		return err
	}
	checks := []func() error{v.CheckPlatform, v.CheckRoot, v.CheckMandatoryFields,
		v.CheckSemVer, v.CheckMounts, v.CheckProcess, v.CheckLinux,
		v.CheckAnnotations, v.CheckHooks}
	// As CheckAll: a check returns a typed nil *multierror.Error when it
	// found nothing, so the errors are collected, not compared with nil.
	var errs *multierror.Error
	for _, check := range checks {
		errs = multierror.Append(errs, check())
	}
	return errs.ErrorOrNil()
}

func schemaCheck(schema, doc string) error {
	docPath, err := filepath.Abs(doc)
	if err != nil {
		return err
	}
	res, err := gojsonschema.Validate(
		gojsonschema.NewReferenceLoader("file://"+filepath.Join(schemaDir, schema)),
		gojsonschema.NewReferenceLoader("file://"+docPath))
	if err != nil {
		return err
	}
	if !res.Valid() {
		return fmt.Errorf("%s does not match %s: %v", doc, schema, res.Errors())
	}
	return nil
}

func checkState(file string) error {
	if err := schemaCheck("state-schema.json", file); err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var st rspec.State
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	fmt.Println(st.Status, st.Pid)
	return nil
}

func readCgroups(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: ocicheck cgroups PID CGROUPSPATH")
	}
	pid, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	cg, err := cgroups.FindCgroup()
	if err != nil {
		return err
	}
	cpu, err := cg.GetCPUData(pid, args[1])
	if err != nil {
		return err
	}
	pids, err := cg.GetPidsData(pid, args[1])
	if err != nil {
		return err
	}
	mem, err := cg.GetMemoryData(pid, args[1])
	if err != nil {
		return err
	}
	fmt.Println(*cpu.Shares, *cpu.Quota, *cpu.Period, pids.Limit, *mem.Limit)
	return nil
}
