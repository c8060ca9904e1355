package admission

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"
	"sigs.k8s.io/yaml"
)

// Policy is one ValidatingAdmissionPolicy, compiled, with the actions of
// the bindings that put it in force.
type Policy struct {
	// Spec is the policy as written.
	Spec *admissionregistrationv1.ValidatingAdmissionPolicy
	// Actions are the validationActions of its bindings (Deny, Warn,
	// Audit); a policy without a binding has none and does nothing.
	Actions []admissionregistrationv1.ValidationAction
	// File is where it was read from.
	File string

	validator validating.Validator
}

// LoadPolicies reads and compiles the ValidatingAdmissionPolicies and
// their bindings in the YAML files of dir in fsys.
func LoadPolicies(fsys fs.FS, dir string) ([]*Policy, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []*Policy
	var bindings []admissionregistrationv1.ValidatingAdmissionPolicyBinding
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		for _, doc := range Documents(data) {
			var head metav1.TypeMeta
			if err := yaml.Unmarshal(doc.Data, &head); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			switch head.Kind {
			case "ValidatingAdmissionPolicy":
				var p admissionregistrationv1.ValidatingAdmissionPolicy
				if err := yaml.UnmarshalStrict(doc.Data, &p); err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
				v := compile(&p)
				if err := v.CompileError(); err != nil {
					return nil, fmt.Errorf("%s: policy %s does not compile: %w", f, p.Name, err)
				}
				out = append(out, &Policy{Spec: &p, File: f, validator: v})
			case "ValidatingAdmissionPolicyBinding":
				var b admissionregistrationv1.ValidatingAdmissionPolicyBinding
				if err := yaml.UnmarshalStrict(doc.Data, &b); err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
				bindings = append(bindings, b)
			}
		}
	}
	for _, b := range bindings {
		for _, p := range out {
			if p.Spec.Name == b.Spec.PolicyName {
				p.Actions = append(p.Actions, b.Spec.ValidationActions...)
			}
		}
	}
	return out, nil
}

// compile builds the policy's validator from the apiserver's admission CEL
// libraries: its variables, match conditions, validations and message
// expressions, in the environment the apiserver compiles stored policies in.
func compile(p *admissionregistrationv1.ValidatingAdmissionPolicy) validating.Validator {
	fail := p.Spec.FailurePolicy
	compiler, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return validating.NewValidator(nil, nil, nil, nil, fail, err)
	}
	vars := plugincel.OptionalVariableDeclarations{HasParams: p.Spec.ParamKind != nil, HasAuthorizer: true}
	msgVars := plugincel.OptionalVariableDeclarations{HasParams: p.Spec.ParamKind != nil}
	var named []plugincel.NamedExpressionAccessor
	for _, v := range p.Spec.Variables {
		named = append(named, &validating.Variable{Name: v.Name, Expression: v.Expression})
	}
	compiler.CompileAndStoreVariables(named, vars, environment.StoredExpressions)
	var matcher matchconditions.Matcher
	if len(p.Spec.MatchConditions) > 0 {
		conds := make([]plugincel.ExpressionAccessor, len(p.Spec.MatchConditions))
		for i := range p.Spec.MatchConditions {
			conds[i] = (*matchconditions.MatchCondition)(&p.Spec.MatchConditions[i])
		}
		matcher = matchconditions.NewMatcher(compiler.CompileCondition(conds, vars, environment.StoredExpressions), fail, "policy", "validate", p.Name)
	}
	checks := make([]plugincel.ExpressionAccessor, len(p.Spec.Validations))
	messages := make([]plugincel.ExpressionAccessor, len(p.Spec.Validations))
	for i, v := range p.Spec.Validations {
		checks[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
	}
	return validating.NewValidator(
		compiler.CompileCondition(checks, vars, environment.StoredExpressions),
		matcher,
		compiler.CompileCondition(nil, vars, environment.StoredExpressions),
		compiler.CompileCondition(messages, msgVars, environment.StoredExpressions),
		fail, nil)
}

// Request is one write to judge.
type Request struct {
	// Operation is CREATE, UPDATE or DELETE.
	Operation admission.Operation
	// Resource is the resource written.
	Resource schema.GroupVersionResource
	// Object is the new object (nil on DELETE); OldObject the one replaced
	// or deleted (nil on CREATE).
	Object, OldObject *unstructured.Unstructured
}

// Decision is a policy's verdict against a request.
type Decision struct {
	// Policy names the policy.
	Policy string
	// Actions are what its bindings do with a failure: Deny refuses it.
	Actions []admissionregistrationv1.ValidationAction
	// Message and Reason are what the apiserver would answer.
	Message string
	Reason  metav1.StatusReason
	// Error is set when the policy could not be evaluated; under
	// failurePolicy Fail the apiserver refuses the request then.
	Error bool
}

// Denies says whether the apiserver refuses the request for it.
func (d Decision) Denies() bool {
	return slices.Contains(d.Actions, admissionregistrationv1.Deny)
}

// Evaluate returns the verdict of every policy in force that matches the
// request and fails it. Match constraints are the policy's resource rules
// and object selector; a namespace selector cannot be judged offline and
// is taken to match.
func Evaluate(ctx context.Context, policies []*Policy, req Request) ([]Decision, error) {
	var out []Decision
	obj, old := req.Object, req.OldObject
	subject := obj
	if subject == nil {
		subject = old
	}
	if subject == nil {
		return nil, fmt.Errorf("a request needs an object or an old object")
	}
	gvk := subject.GroupVersionKind()
	var robj, rold runtime.Object
	if obj != nil {
		robj = obj
	}
	if old != nil {
		rold = old
	}
	attr := &admission.VersionedAttributes{
		Attributes: admission.NewAttributesRecord(robj, rold, gvk, subject.GetNamespace(), subject.GetName(),
			req.Resource, "", req.Operation, nil, false, &user.DefaultInfo{Name: "vtmeta"}),
		VersionedObject:    admission.NewLazyObject(robj),
		VersionedOldObject: admission.NewLazyObject(rold),
		VersionedKind:      gvk,
	}
	for _, p := range policies {
		if len(p.Actions) == 0 || !matches(p.Spec.Spec.MatchConstraints, req, subject) {
			continue
		}
		res := p.validator.Validate(ctx, req.Resource, attr, nil, nil, celconfig.RuntimeCELCostBudget, nil)
		for _, d := range res.Decisions {
			if d.Action == validating.ActionAdmit {
				continue
			}
			out = append(out, Decision{Policy: p.Spec.Name, Actions: p.Actions, Message: d.Message, Reason: d.Reason,
				Error: d.Evaluation == validating.EvalError})
		}
	}
	return out, nil
}

// matches says whether a policy's match constraints select the request.
func matches(m *admissionregistrationv1.MatchResources, req Request, subject *unstructured.Unstructured) bool {
	if m == nil {
		return false
	}
	rule := func(r admissionregistrationv1.NamedRuleWithOperations) bool {
		has := func(list []string, v string) bool { return slices.Contains(list, "*") || slices.Contains(list, v) }
		ops := make([]string, len(r.Operations))
		for i, o := range r.Operations {
			ops[i] = string(o)
		}
		named := len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, subject.GetName())
		return named && has(ops, string(req.Operation)) && has(r.APIGroups, req.Resource.Group) &&
			has(r.APIVersions, req.Resource.Version) && has(r.Resources, req.Resource.Resource)
	}
	if !slices.ContainsFunc(m.ResourceRules, rule) || slices.ContainsFunc(m.ExcludeResourceRules, rule) {
		return false
	}
	if m.ObjectSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(m.ObjectSelector)
		if err != nil {
			return true // the apiserver would fail closed
		}
		if !sel.Matches(labels.Set(subject.GetLabels())) {
			return false
		}
	}
	return true
}
