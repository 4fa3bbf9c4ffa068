// kube-validate: the fallback of the Helm chart's Kubernetes validation (test/kubernetes/), for
// machines where kube-apiserver and etcd cannot be built. It reads rendered manifests on stdin
// and, without any server:
//   - decodes every object strictly into its k8s.io/api or monitoring.coreos.com Go type,
//     refusing unknown fields and unknown kinds;
//   - validates the Operator's custom resources against the OpenAPI schema of its CRDs (-crds);
//   - evaluates every pod template with k8s.io/pod-security-admission at `restricted`.
//
// Exit 0 when everything passes, 1 with one line per problem otherwise.
//
//	kube-validate -crds DIR < manifests.yaml
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	monv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

// The kinds the chart renders, each with the Go type it must decode into.
func newTyped(apiVersion, kind string) (any, bool) {
	switch apiVersion + "/" + kind {
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/Secret":
		return &corev1.Secret{}, true
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, true
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &monv1.ServiceMonitor{}, true
	case "monitoring.coreos.com/v1/PrometheusRule":
		return &monv1.PrometheusRule{}, true
	case "monitoring.coreos.com/v1/Probe":
		return &monv1.Probe{}, true
	case "monitoring.coreos.com/v1alpha1/AlertmanagerConfig":
		return &monv1alpha1.AlertmanagerConfig{}, true
	}
	return nil, false
}

type schemaKey struct{ group, version, kind string }

// loadSchemas reads every CRD in dir and returns a validator per group/version/kind.
func loadSchemas(dir string) (map[schemaKey]validation.SchemaValidator, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no CRD files in %s (make tools fetches them)", dir)
	}
	out := map[schemaKey]validation.SchemaValidator{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var crd apiextv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, v := range crd.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			var internal apiextensions.JSONSchemaProps
			if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
				return nil, fmt.Errorf("%s %s: %w", f, v.Name, err)
			}
			validator, _, err := validation.NewSchemaValidator(&internal)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", f, v.Name, err)
			}
			out[schemaKey{crd.Spec.Group, v.Name, crd.Spec.Names.Kind}] = validator
		}
	}
	return out, nil
}

// podTemplate returns the pod template of a workload, if it is one.
func podTemplate(obj any) *corev1.PodTemplateSpec {
	if d, ok := obj.(*appsv1.Deployment); ok {
		return &d.Spec.Template
	}
	return nil
}

func checkPod(name string, tmpl *corev1.PodTemplateSpec, eval policy.Evaluator) []string {
	level := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}
	var problems []string
	for _, r := range eval.EvaluatePod(level, &tmpl.ObjectMeta, &tmpl.Spec) {
		if !r.Allowed {
			problems = append(problems, fmt.Sprintf("%s: violates PodSecurity restricted: %s (%s)", name, r.ForbiddenReason, r.ForbiddenDetail))
		}
	}
	return problems
}

func checkObject(doc []byte, schemas map[schemaKey]validation.SchemaValidator, eval policy.Evaluator) []string {
	var raw map[string]any
	if err := yaml.Unmarshal(doc, &raw); err != nil {
		return []string{fmt.Sprintf("not YAML: %v", err)}
	}
	if len(raw) == 0 {
		return nil
	}
	apiVersion, _ := raw["apiVersion"].(string)
	kind, _ := raw["kind"].(string)
	meta, _ := raw["metadata"].(map[string]any)
	name := fmt.Sprintf("%s %v", kind, meta["name"])
	typed, ok := newTyped(apiVersion, kind)
	if !ok {
		return []string{fmt.Sprintf("%s: kind %s/%s is not known to this validator", name, apiVersion, kind)}
	}
	if err := yaml.UnmarshalStrict(doc, typed); err != nil {
		return []string{fmt.Sprintf("%s: %v", name, err)}
	}
	var problems []string
	group, version, _ := strings.Cut(apiVersion, "/")
	if validator, ok := schemas[schemaKey{group, version, kind}]; ok {
		for _, e := range validation.ValidateCustomResource(nil, raw, validator) {
			problems = append(problems, fmt.Sprintf("%s: %v", name, e))
		}
	} else if strings.HasSuffix(group, "monitoring.coreos.com") {
		problems = append(problems, fmt.Sprintf("%s: no CRD schema for %s", name, apiVersion))
	}
	if tmpl := podTemplate(typed); tmpl != nil {
		problems = append(problems, checkPod(name, tmpl, eval)...)
	}
	return problems
}

func run(in io.Reader, crdDir string) ([]string, int, error) {
	schemas, err := loadSchemas(crdDir)
	if err != nil {
		return nil, 0, err
	}
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, 0, err
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var problems []string
	count := 0
	for {
		doc, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		count++
		problems = append(problems, checkObject(doc, schemas, eval)...)
	}
	return problems, count, nil
}

func main() {
	crds := flag.String("crds", "", "directory of the Prometheus Operator's CRD YAML files")
	flag.Parse()
	problems, count, err := run(os.Stdin, *crds)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube-validate:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 || count == 0 {
		if count == 0 {
			fmt.Println("no objects on stdin")
		}
		os.Exit(1)
	}
	fmt.Printf("kube-validate: %d objects valid (strict types, CRD schemas, PodSecurity restricted)\n", count)
}
