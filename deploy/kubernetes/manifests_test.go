package kubernetes_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// manifests are the decoded objects of every YAML file here, by kind.
type manifests struct {
	namespace      *corev1.Namespace
	serviceAccount *corev1.ServiceAccount
	configMap      *corev1.ConfigMap
	daemonSet      *appsv1.DaemonSet
	service        *corev1.Service
}

// load decodes every *.yaml file strictly (unknown or duplicate fields fail)
// into the type its kind names; a kind the test does not know fails too.
func load(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var m manifests
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NotContains(t, string(data), "\n---", "%s: one object per file", f)
		var tm metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal(data, &tm), f)
		var obj any
		switch tm.APIVersion + "/" + tm.Kind {
		case "v1/Namespace":
			m.namespace = &corev1.Namespace{}
			obj = m.namespace
		case "v1/ServiceAccount":
			m.serviceAccount = &corev1.ServiceAccount{}
			obj = m.serviceAccount
		case "v1/ConfigMap":
			m.configMap = &corev1.ConfigMap{}
			obj = m.configMap
		case "apps/v1/DaemonSet":
			m.daemonSet = &appsv1.DaemonSet{}
			obj = m.daemonSet
		case "v1/Service":
			m.service = &corev1.Service{}
			obj = m.service
		default:
			t.Fatalf("%s: unexpected kind %s/%s", f, tm.APIVersion, tm.Kind)
		}
		require.NoError(t, yaml.UnmarshalStrict(data, obj), "%s does not decode strictly into %T", f, obj)
	}
	require.NotNil(t, m.namespace, "namespace.yaml")
	require.NotNil(t, m.serviceAccount, "serviceaccount.yaml")
	require.NotNil(t, m.configMap, "configmap.yaml")
	require.NotNil(t, m.daemonSet, "daemonset.yaml")
	require.NotNil(t, m.service, "service.yaml")
	return m
}

func TestStrictDecodingCatchesUnknownFields(t *testing.T) {
	// The decoder the test relies on does reject a misspelt field.
	var ds appsv1.DaemonSet
	err := yaml.UnmarshalStrict([]byte("apiVersion: apps/v1\nkind: DaemonSet\nspec:\n  template:\n    spec:\n      nodeSelectr: {}\n"), &ds)
	require.ErrorContains(t, err, "nodeSelectr")
}

// flagValue returns the value of --name=value in args.
func flagValue(t *testing.T, args []string, name string) string {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	t.Fatalf("no --%s in %q", name, args)
	return ""
}

func TestManifests(t *testing.T) {
	m := load(t)
	ns := m.namespace.Name
	for _, meta := range []metav1.ObjectMeta{m.serviceAccount.ObjectMeta, m.configMap.ObjectMeta, m.daemonSet.ObjectMeta, m.service.ObjectMeta} {
		require.Equal(t, ns, meta.Namespace, "%s is in the namespace", meta.Name)
	}

	ds := m.daemonSet
	pod := ds.Spec.Template.Spec
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	require.NoError(t, err)
	require.True(t, selector.Matches(labels.Set(ds.Spec.Template.Labels)), "the DaemonSet's selector matches its pods")
	require.True(t, labels.SelectorFromSet(m.service.Spec.Selector).Matches(labels.Set(ds.Spec.Template.Labels)), "the Service selects the DaemonSet's pods")

	// GPU nodes only, with the NVIDIA runtime, and no API token.
	require.Equal(t, "true", pod.NodeSelector["nvidia.com/gpu.present"])
	require.True(t, slices.ContainsFunc(pod.Tolerations, func(tol corev1.Toleration) bool {
		return tol.Key == "nvidia.com/gpu" && tol.Operator == corev1.TolerationOpExists && tol.Effect == corev1.TaintEffectNoSchedule
	}), "tolerates the nvidia.com/gpu taint")
	require.NotNil(t, pod.RuntimeClassName)
	require.Equal(t, "nvidia", *pod.RuntimeClassName)
	require.Equal(t, m.serviceAccount.Name, pod.ServiceAccountName)
	require.False(t, *pod.AutomountServiceAccountToken)
	require.False(t, *m.serviceAccount.AutomountServiceAccountToken)

	// Non-root, nothing to escalate to.
	require.True(t, *pod.SecurityContext.RunAsNonRoot)
	require.NotZero(t, *pod.SecurityContext.RunAsUser)
	require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.SecurityContext.SeccompProfile.Type)
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.Equal(t, "tokenpath", c.Name)
	require.Nil(t, c.SecurityContext.RunAsUser, "the container runs as the pod's non-root user")
	require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	require.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
	require.Empty(t, c.SecurityContext.Capabilities.Add)
	_, gpuRequested := c.Resources.Limits["nvidia.com/gpu"]
	require.False(t, gpuRequested, "monitoring must not allocate a GPU away from the inference pods")
	for _, ic := range pod.InitContainers {
		require.Equal(t, []corev1.Capability{"CHOWN"}, ic.SecurityContext.Capabilities.Add, "%s keeps CHOWN only", ic.Name)
		require.False(t, *ic.SecurityContext.AllowPrivilegeEscalation)
	}

	// Resources: both set, requests within limits, memory above the
	// measured footprint (docs/benchmarks.md: ~100 MiB at 20k samples/s).
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[name], c.Resources.Limits[name]
		require.False(t, req.IsZero(), "%s request", name)
		require.False(t, lim.IsZero(), "%s limit", name)
		require.LessOrEqual(t, req.Cmp(lim), 0, "%s request within its limit", name)
	}
	require.GreaterOrEqual(t, c.Resources.Limits.Memory().Cmp(resource.MustParse("256Mi")), 0)

	// Ports, probes and volumes agree with the binary's flags.
	listen := flagValue(t, c.Args, "web.listen-address")
	_, port, err := net.SplitHostPort(listen)
	require.NoError(t, err)
	require.Len(t, c.Ports, 1)
	require.Equal(t, port, strconv.Itoa(int(c.Ports[0].ContainerPort)), "containerPort is --web.listen-address's port")
	portName := c.Ports[0].Name
	require.Equal(t, "/-/healthy", c.LivenessProbe.HTTPGet.Path)
	require.Equal(t, portName, c.LivenessProbe.HTTPGet.Port.String())
	require.Equal(t, "/-/ready", c.ReadinessProbe.HTTPGet.Path)
	require.Equal(t, portName, c.ReadinessProbe.HTTPGet.Port.String())
	require.Len(t, m.service.Spec.Ports, 1)
	require.Equal(t, portName, m.service.Spec.Ports[0].TargetPort.String())

	mounts := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	dataPath := flagValue(t, c.Args, "storage.tsdb.path")
	var dataVolume string
	for name, vm := range mounts {
		if vm.MountPath == dataPath {
			dataVolume = name
		}
	}
	require.NotEmpty(t, dataVolume, "--storage.tsdb.path is a mounted volume")
	require.NotNil(t, volumes[dataVolume].HostPath, "data lives on the node")
	require.False(t, mounts[dataVolume].ReadOnly)

	configFile := flagValue(t, c.Args, "config.file")
	var configVolume string
	for name, vm := range mounts {
		if vm.MountPath == path.Dir(configFile) {
			configVolume = name
		}
	}
	require.NotEmpty(t, configVolume, "--config.file's directory is a mounted volume")
	require.Equal(t, m.configMap.Name, volumes[configVolume].ConfigMap.Name)
	require.Contains(t, m.configMap.Data, path.Base(configFile))
}

// TestDaemonSetRuns runs the binary the way the DaemonSet's pod would: the
// ConfigMap's files in the config directory, the container's arguments with
// $(NODE_IP) expanded as the kubelet does, then the liveness and readiness
// probes' requests. Only what cannot exist on a test machine changes: the
// directories become temporary ones, the port a free loopback one, and the
// node's IP 127.0.0.1.
func TestDaemonSetRuns(t *testing.T) {
	m := load(t)
	c := m.daemonSet.Spec.Template.Spec.Containers[0]
	configDir := t.TempDir()
	dataDir := t.TempDir()
	configFile := flagValue(t, c.Args, "config.file")
	for name, content := range m.configMap.Data {
		content = strings.ReplaceAll(content, path.Dir(configFile)+"/", configDir+"/")
		require.NoError(t, os.WriteFile(filepath.Join(configDir, name), []byte(content), 0o600))
	}
	localConfig := filepath.Join(configDir, path.Base(configFile))

	bin := testbin.Binary(t)
	out, err := exec.Command(bin, "check", "config", localConfig).CombinedOutput()
	require.NoError(t, err, "tokenpath check config on the ConfigMap's file:\n%s", out)

	addr := testbin.FreePort(t)
	env := []string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	var args []string
	for _, a := range c.Args {
		a = strings.ReplaceAll(a, "$(NODE_IP)", "127.0.0.1")
		switch {
		case strings.HasPrefix(a, "--config.file="):
			a = "--config.file=" + localConfig
		case strings.HasPrefix(a, "--storage.tsdb.path="):
			a = "--storage.tsdb.path=" + dataDir
		case strings.HasPrefix(a, "--web.listen-address="):
			a = "--web.listen-address=" + addr
		}
		args = append(args, a)
	}
	require.NotContains(t, strings.Join(args, " "), "$(", "every variable reference is expanded")
	p := testbin.Start(t, testbin.Options{Args: args, DataDir: dataDir, Env: env})

	for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		resp, err := http.Get(p.URL + probe.HTTPGet.Path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", probe.HTTPGet.Path, body)
	}

	// The ConfigMap's scrape jobs and the node-local vLLM job are all there,
	// with the file_sd targets read from the ConfigMap's target file.
	type target struct {
		Labels map[string]string `json:"labels"`
	}
	var targets struct {
		Data struct {
			ActiveTargets []target `json:"activeTargets"`
		} `json:"data"`
	}
	require.Eventually(t, func() bool {
		resp, err := http.Get(p.URL + "/api/v1/targets")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if json.NewDecoder(resp.Body).Decode(&targets) != nil {
			return false
		}
		return len(targets.Data.ActiveTargets) >= 5
	}, 30*time.Second, 100*time.Millisecond, "targets: %+v", targets)
	byJob := map[string][]string{}
	for _, tg := range targets.Data.ActiveTargets {
		byJob[tg.Labels["job"]] = append(byJob[tg.Labels["job"]], tg.Labels["instance"])
	}
	for _, v := range byJob {
		slices.Sort(v)
	}
	require.Equal(t, []string{"vllm-0.vllm.inference.svc.cluster.local:8000", "vllm-1.vllm.inference.svc.cluster.local:8000"}, byJob["vllm-pods"])
	require.Equal(t, []string{"vllm.inference.svc.cluster.local:8000"}, byJob["vllm-services"])
	require.Equal(t, []string{"127.0.0.1:8000"}, byJob["vllm"], "--vllm.endpoint with the node's IP")
}
