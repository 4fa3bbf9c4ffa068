// compose-check loads compose files with compose-go, the library `docker compose` itself
// uses, with the options `docker compose config` passes (interpolation, normalization,
// consistency checks, resolved paths), so `make validate` and the config tests can check the
// compose files on a machine without Docker. It reads variables from the given env file only
// (not from the calling shell), so a check depends on nothing but its arguments.
//
//	compose-check --env-file FILE [--project-dir DIR] [--profile NAME]... [--no-path-resolution]
//	              [--print | --json] COMPOSE_FILE...
//
// Later files override earlier ones, as with `docker compose -f a.yml -f b.yml`; --profile
// enables a profile's services as `docker compose --profile` does ("*": every profile);
// --no-path-resolution keeps relative paths as written (`docker compose config`'s flag). On
// success it prints one line naming the services; with --print, that line and the resolved
// project as YAML (`docker compose config`); with --json, only one JSON document:
//
//	{"project": <the resolved project, as `docker compose config --format json`>,
//	 "variables": {"NAME": {"default": "...", "required": false}, ...}}
//
// where variables are the ones the files reference (`docker compose config --variables`), read
// before interpolation. On failure it prints the loader's error and exits 1. Exit 2: bad usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/template"
)

// profiles collects repeated --profile flags.
type profiles []string

func (p *profiles) String() string     { return strings.Join(*p, ",") }
func (p *profiles) Set(v string) error { *p = append(*p, v); return nil }

type request struct {
	envFile    string
	projectDir string
	profiles   []string
	files      []string
	keepPaths  bool
}

func main() {
	var req request
	var enabled profiles
	flag.StringVar(&req.envFile, "env-file", "", "the .env to interpolate from (required)")
	flag.StringVar(&req.projectDir, "project-dir", "", "directory relative paths resolve from (default: the first file's)")
	flag.Var(&enabled, "profile", "enable the services of this profile (repeatable; * for all)")
	flag.BoolVar(&req.keepPaths, "no-path-resolution", false, "keep relative paths as the files write them")
	printYAML := flag.Bool("print", false, "print the resolved project as YAML")
	printJSON := flag.Bool("json", false, "print only the resolved project and the referenced variables, as JSON")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: compose-check --env-file FILE [--project-dir DIR] [--profile NAME]... [--no-path-resolution] [--print | --json] COMPOSE_FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if req.envFile == "" || flag.NArg() == 0 || (*printYAML && *printJSON) {
		flag.Usage()
		os.Exit(2)
	}
	req.profiles, req.files = enabled, flag.Args()
	var err error
	if *printJSON {
		err = printModel(req)
	} else {
		err = check(req, *printYAML)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "compose-check: %s: %v\n", strings.Join(req.files, " + "), err)
		os.Exit(1)
	}
}

// options are `docker compose config`'s: interpolated (unless told otherwise), normalized,
// consistent, with resolved paths (unless told otherwise) and env_file folded into environment.
func options(req request, interpolate bool) (*cli.ProjectOptions, error) {
	return cli.NewProjectOptions(req.files,
		cli.WithWorkingDirectory(req.projectDir),
		cli.WithEnvFiles(req.envFile),
		cli.WithDotEnv,
		cli.WithInterpolation(interpolate),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(!req.keepPaths),
		cli.WithDiscardEnvFile,
		cli.WithProfiles(req.profiles),
	)
}

func check(req request, printYAML bool) error {
	o, err := options(req, true)
	if err != nil {
		return err
	}
	project, err := o.LoadProject(context.Background())
	if err != nil {
		return err
	}
	names := project.ServiceNames()
	sort.Strings(names)
	fmt.Printf("compose-check: project %s loads: %d services (%s)\n", project.Name, len(names), strings.Join(names, ", "))
	if printYAML {
		out, err := project.MarshalYAML()
		if err != nil {
			return err
		}
		os.Stdout.Write(out)
	}
	return nil
}

type variable struct {
	Default  string `json:"default"`
	Required bool   `json:"required"`
}

// printModel writes the --json document: the resolved project and the variables its files name.
func printModel(req request) error {
	o, err := options(req, true)
	if err != nil {
		return err
	}
	project, err := o.LoadProject(context.Background())
	if err != nil {
		return err
	}
	resolved, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	raw, err := options(req, false)
	if err != nil {
		return err
	}
	model, err := raw.LoadModel(context.Background())
	if err != nil {
		return err
	}
	variables := map[string]variable{}
	for name, v := range template.ExtractVariables(model, template.DefaultPattern) {
		variables[name] = variable{Default: v.DefaultValue, Required: v.Required}
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"project":   json.RawMessage(resolved),
		"variables": variables,
	})
}
