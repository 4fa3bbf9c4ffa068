// compose-check loads compose files with compose-go, the library `docker compose` itself
// uses, with the options `docker compose config` passes (interpolation, normalization,
// consistency checks, resolved paths), so `make validate` can check the compose files on a
// machine without Docker. It reads variables from the given env file only (not from the
// calling shell), so a check depends on nothing but its arguments.
//
//	compose-check --env-file FILE [--project-dir DIR] [--print] COMPOSE_FILE...
//
// Later files override earlier ones, as with `docker compose -f a.yml -f b.yml`. On success
// it prints one line naming the services (and with --print the resolved project as YAML);
// on failure it prints the loader's error and exits 1. Exit 2: bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	envFile := flag.String("env-file", "", "the .env to interpolate from (required)")
	projectDir := flag.String("project-dir", "", "directory relative paths resolve from (default: the first file's)")
	printYAML := flag.Bool("print", false, "print the resolved project as YAML")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: compose-check --env-file FILE [--project-dir DIR] [--print] COMPOSE_FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *envFile == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := check(*envFile, *projectDir, *printYAML, flag.Args()); err != nil {
		fmt.Fprintf(os.Stderr, "compose-check: %s: %v\n", strings.Join(flag.Args(), " + "), err)
		os.Exit(1)
	}
}

func check(envFile, projectDir string, printYAML bool, files []string) error {
	options, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(projectDir),
		cli.WithEnvFiles(envFile),
		cli.WithDotEnv,
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
		cli.WithDiscardEnvFile,
	)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
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
