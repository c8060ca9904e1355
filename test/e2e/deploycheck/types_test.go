package deploycheck

// The Metacontroller and Prometheus Operator objects the manifests use,
// with exactly the fields their APIs define, so strict decoding catches a
// misspelt or misplaced field before a cluster does.

type compositeController struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   objectMeta     `json:"metadata"`
	Spec       compositeSpec  `json:"spec"`
	Status     map[string]any `json:"status,omitempty"`
}

type objectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type compositeSpec struct {
	ParentResource      resourceRule   `json:"parentResource"`
	ChildResources      []childRule    `json:"childResources,omitempty"`
	Hooks               *hooks         `json:"hooks,omitempty"`
	ResyncPeriodSeconds *int32         `json:"resyncPeriodSeconds,omitempty"`
	GenerateSelector    *bool          `json:"generateSelector,omitempty"`
	EndpointConfigs     []any          `json:"endpointConfigs,omitempty"`
	RevisionHistory     map[string]any `json:"revisionHistory,omitempty"`
}

type resourceRule struct {
	APIVersion          string         `json:"apiVersion"`
	Resource            string         `json:"resource"`
	LabelSelector       map[string]any `json:"labelSelector,omitempty"`
	RevisionHistory     map[string]any `json:"revisionHistory,omitempty"`
	IgnoreStatusChanges *bool          `json:"ignoreStatusChanges,omitempty"`
}

type childRule struct {
	APIVersion     string `json:"apiVersion"`
	Resource       string `json:"resource"`
	UpdateStrategy *struct {
		Method       string         `json:"method,omitempty"`
		StatusChecks map[string]any `json:"statusChecks,omitempty"`
	} `json:"updateStrategy,omitempty"`
}

type hooks struct {
	Customize       *ccHook `json:"customize,omitempty"`
	Sync            *ccHook `json:"sync,omitempty"`
	Finalize        *ccHook `json:"finalize,omitempty"`
	PreUpdateChild  *ccHook `json:"preUpdateChild,omitempty"`
	PostUpdateChild *ccHook `json:"postUpdateChild,omitempty"`
}

type ccHook struct {
	Version *string  `json:"version,omitempty"`
	Webhook *webhook `json:"webhook,omitempty"`
}

type webhook struct {
	URL     *string `json:"url,omitempty"`
	Timeout *string `json:"timeout,omitempty"`
	Etag    *struct {
		Enabled             *bool  `json:"enabled,omitempty"`
		CacheTimeoutSeconds *int32 `json:"cacheTimeoutSeconds,omitempty"`
		CacheCleanupSeconds *int32 `json:"cacheCleanupSeconds,omitempty"`
	} `json:"etag,omitempty"`
	Path    *string `json:"path,omitempty"`
	Service *struct {
		Name      string  `json:"name"`
		Namespace string  `json:"namespace"`
		Port      *int32  `json:"port,omitempty"`
		Protocol  *string `json:"protocol,omitempty"`
	} `json:"service,omitempty"`
	ResponseUnmarshallMode *string `json:"responseUnMarshallMode,omitempty"`
	CABundle               *struct {
		Inline       *string      `json:"inline,omitempty"`
		SecretRef    *resourceKey `json:"secretRef,omitempty"`
		ConfigMapRef *resourceKey `json:"configMapRef,omitempty"`
	} `json:"caBundle,omitempty"`
	ClientTLS     map[string]any `json:"clientTLS,omitempty"`
	Authorization *struct {
		Type      string      `json:"type,omitempty"`
		SecretRef resourceKey `json:"secretRef"`
	} `json:"authorization,omitempty"`
	BasicAuth map[string]any `json:"basicAuth,omitempty"`
}

type resourceKey struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Key       string `json:"key,omitempty"`
}

type serviceMonitor struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type prometheusRule struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       ruleGroups `json:"spec"`
}

type ruleGroups struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// podMonitor is the part of the Prometheus Operator's PodMonitor that
// deploy/monitoring uses; a field outside it fails the strict decode.
type podMonitor struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		NamespaceSelector struct {
			Any bool `json:"any"`
		} `json:"namespaceSelector"`
		Selector struct {
			MatchExpressions []struct {
				Key      string   `json:"key"`
				Operator string   `json:"operator"`
				Values   []string `json:"values,omitempty"`
			} `json:"matchExpressions"`
		} `json:"selector"`
		PodMetricsEndpoints []struct {
			Port        string       `json:"port"`
			Path        string       `json:"path"`
			Interval    string       `json:"interval"`
			Relabelings []relabeling `json:"relabelings"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// relabeling is a Prometheus Operator RelabelConfig.
type relabeling struct {
	SourceLabels []string `json:"sourceLabels"`
	TargetLabel  string   `json:"targetLabel"`
	Regex        string   `json:"regex,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}
