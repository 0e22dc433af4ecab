package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	localCommandType  = "command:local:Command"
	remoteCommandType = "command:remote:Command"
	localRunFunction  = "command:local:run"
)

// Inputs whose change replaces the resource; every other input change is an
// in-place update (which runs `update`, or `create` again when it is unset).
var replaceKeys = map[string]bool{"triggers": true}

// Input keys each resource knows; a command's outputs are these plus stdout/stderr.
var inputKeys = map[string][]string{
	localCommandType: {
		"create", "update", "delete", "dir", "environment", "interpreter", "stdin", "triggers",
		"assetPaths", "archivePaths", "addPreviousOutputInEnv", "logging",
	},
	remoteCommandType: {
		"connection", "create", "update", "delete", "environment", "stdin", "triggers",
		"addPreviousOutputInEnv", "logging",
	},
	// Its outputs are its inputs (no stdout/stderr).
	copyToRemoteType: {"connection", "triggers", "source", "remotePath"},
}

type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	engine pulumirpc.EngineClient
}

func resourceType(urn string) (string, error) {
	t := string(resource.URN(urn).Type())
	if _, ok := inputKeys[t]; !ok {
		return "", status.Errorf(codes.Unimplemented,
			"resource type %q is not implemented by this build of the command provider", t)
	}
	return t, nil
}

func (p *commandProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (p *commandProvider) Handshake(
	context.Context, *pulumirpc.ProviderHandshakeRequest,
) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: false}, nil
}

func (p *commandProvider) GetSchema(
	context.Context, *pulumirpc.GetSchemaRequest,
) (*pulumirpc.GetSchemaResponse, error) {
	b, err := json.Marshal(packageSchema(Version))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: string(b)}, nil
}

func (p *commandProvider) CheckConfig(
	_ context.Context, req *pulumirpc.CheckRequest,
) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *commandProvider) DiffConfig(
	context.Context, *pulumirpc.DiffRequest,
) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *commandProvider) Configure(
	context.Context, *pulumirpc.ConfigureRequest,
) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *commandProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	t, err := resourceType(req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	if v, ok := news["logging"]; ok && known(v) {
		if s, _ := plain(v).(string); s != "" && !validLogging[s] {
			failures = append(failures, &pulumirpc.CheckFailure{
				Property: "logging", Reason: "must be one of stdout, stderr, stdoutAndStderr, none",
			})
		}
	}
	if t == remoteCommandType || t == copyToRemoteType {
		c, ok := news["connection"]
		if !ok {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "connection", Reason: "missing required property"})
		} else if known(c) {
			if conn, ok := getObject(news, "connection"); ok {
				if h, _ := getString(conn, "host"); h == "" {
					failures = append(failures, &pulumirpc.CheckFailure{Property: "connection.host", Reason: "missing required property"})
				}
			}
		}
	}
	if t == copyToRemoteType {
		for _, k := range []string{"source", "remotePath"} {
			if _, ok := news[resource.PropertyKey(k)]; !ok {
				failures = append(failures, &pulumirpc.CheckFailure{Property: k, Reason: "missing required property"})
			}
		}
		// A missing source is reported above; an unknown one (preview) is checked once known.
		if src, isKnown := sourceOf(news); isKnown {
			failures = append(failures, checkSource(src)...)
		}
	}
	// Keep only known keys so that state does not carry unrelated values.
	inputs := resource.PropertyMap{}
	for _, k := range inputKeys[t] {
		if v, ok := news[resource.PropertyKey(k)]; ok {
			inputs[resource.PropertyKey(k)] = v
		}
	}
	// The connection always is a secret (it may carry keys or passwords).
	if c, ok := inputs["connection"]; ok && !c.IsSecret() && !c.IsComputed() {
		inputs["connection"] = resource.MakeSecret(c)
	}
	out, err := marshal(inputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: out, Failures: failures}, nil
}

func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	t, err := resourceType(req.GetUrn())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		// Older engines send no old inputs: the state holds them too.
		if olds, err = unmarshal(req.GetOlds()); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	ignore := map[string]bool{}
	for _, k := range req.GetIgnoreChanges() {
		ignore[k] = true
	}
	changed, replaces := map[string]bool{}, map[string]bool{}
	detailed := map[string]*pulumirpc.PropertyDiff{}
	for _, k := range inputKeys[t] {
		if ignore[k] {
			continue
		}
		o, hasOld := olds[resource.PropertyKey(k)]
		n, hasNew := news[resource.PropertyKey(k)]
		var kind pulumirpc.PropertyDiff_Kind
		switch {
		case !hasOld && !hasNew:
			continue
		case !hasOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kind = pulumirpc.PropertyDiff_DELETE
		case equalInputs(o, n):
			continue
		default:
			kind = pulumirpc.PropertyDiff_UPDATE
		}
		changed[k] = true
		if replaceKeys[k] {
			replaces[k] = true
			kind += pulumirpc.PropertyDiff_ADD_REPLACE - pulumirpc.PropertyDiff_ADD
		}
		detailed[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		Diffs:           sortedKeys(changed),
		Replaces:        sortedKeys(replaces),
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
	}
	if len(changed) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp, nil
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// outputsFor builds the state: the inputs plus stdout/stderr.
func outputsFor(inputs resource.PropertyMap, res *runResult) resource.PropertyMap {
	out := inputs.Copy()
	if res == nil {
		out["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		out["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
	} else {
		out["stdout"] = resource.NewStringProperty(res.stdout)
		out["stderr"] = resource.NewStringProperty(res.stderr)
	}
	return out
}

func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	t, err := resourceType(req.GetUrn())
	if err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	id := newID()
	if t == copyToRemoteType {
		if !req.GetPreview() {
			if err := p.copyToRemote(ctx, req.GetUrn(), inputs); err != nil {
				return nil, err
			}
		}
		props, err := marshal(inputs)
		if err != nil {
			return nil, err
		}
		return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
	}
	if req.GetPreview() {
		props, err := marshal(outputsFor(inputs, nil))
		if err != nil {
			return nil, err
		}
		return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
	}
	res := &runResult{}
	if script, ok := getString(inputs, "create"); ok && script != "" {
		res, err = p.run(ctx, t, req.GetUrn(), inputs, script, nil)
		if err != nil {
			return nil, err
		}
	}
	props, err := marshal(outputsFor(inputs, res))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	t, err := resourceType(req.GetUrn())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	if t == copyToRemoteType {
		// Copy again only for new content (by hash) or a new destination, like
		// upstream: a change of the connection alone copies nothing.
		oldSrc, _ := sourceOf(olds)
		newSrc, _ := sourceOf(news)
		oldPath, _ := getString(olds, "remotePath")
		newPath, _ := getString(news, "remotePath")
		if !req.GetPreview() && (oldSrc.hash() != newSrc.hash() || oldPath != newPath) {
			if err := p.copyToRemote(ctx, req.GetUrn(), news); err != nil {
				return nil, err
			}
		}
		props, err := marshal(news)
		if err != nil {
			return nil, err
		}
		return &pulumirpc.UpdateResponse{Properties: props}, nil
	}
	if req.GetPreview() {
		props, err := marshal(outputsFor(news, nil))
		if err != nil {
			return nil, err
		}
		return &pulumirpc.UpdateResponse{Properties: props}, nil
	}
	script, ok := getString(news, "update")
	if !ok || script == "" {
		script, _ = getString(news, "create")
	}
	res := &runResult{}
	if script != "" {
		res, err = p.run(ctx, t, req.GetUrn(), news, script, previousOutputs(olds))
		if err != nil {
			return nil, err
		}
	}
	props, err := marshal(outputsFor(news, res))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	t, err := resourceType(req.GetUrn())
	if err != nil {
		return nil, err
	}
	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	// CopyToRemote has no `delete`: like upstream, what it copied stays.
	if script, ok := getString(state, "delete"); ok && script != "" {
		if _, err := p.run(ctx, t, req.GetUrn(), state, script, previousOutputs(state)); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	// Commands cannot be read back: refresh keeps the state as it is.
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *commandProvider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != localRunFunction {
		return nil, status.Errorf(codes.Unimplemented, "function %q is not implemented by this build", req.GetTok())
	}
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	script, _ := getString(args, "command")
	res, err := p.run(ctx, localCommandType, "", args, script, nil)
	if err != nil {
		return nil, err
	}
	out := args.Copy()
	out["stdout"] = resource.NewStringProperty(res.stdout)
	out["stderr"] = resource.NewStringProperty(res.stderr)
	ret, err := marshal(out)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

// previousOutputs returns the stdout/stderr stored in state.
func previousOutputs(state resource.PropertyMap) *runResult {
	stdout, _ := getString(state, "stdout")
	stderr, _ := getString(state, "stderr")
	return &runResult{stdout: stdout, stderr: stderr}
}

// log sends a diagnostic to the engine; ephemeral ones are status lines shown
// while the resource is in progress and not kept afterwards.
func (p *commandProvider) log(urn string, severity pulumirpc.LogSeverity, msg string, ephemeral bool) {
	if p.engine == nil || urn == "" {
		return
	}
	_, _ = p.engine.Log(context.Background(), &pulumirpc.LogRequest{
		Severity: severity, Message: strings.ToValidUTF8(msg, "\uFFFD"), Urn: urn, Ephemeral: ephemeral,
	})
}

func (p *commandProvider) run(
	ctx context.Context, t, urn string, inputs resource.PropertyMap, script string, previous *runResult,
) (*runResult, error) {
	spec := runSpec{
		script:     script,
		env:        getStringMap(inputs, "environment"),
		logging:    "stdoutAndStderr",
		addPrevEnv: getBool(inputs, "addPreviousOutputInEnv", true),
		previous:   previous,
		// Upstream streams stdout and stderr alike as transient info lines.
		status:     func(line string) { p.log(urn, pulumirpc.LogSeverity_INFO, line, true) },
		logError:   func(msg string) { p.log(urn, pulumirpc.LogSeverity_ERROR, msg, false) },
		logWarning: func(msg string) { p.log(urn, pulumirpc.LogSeverity_WARNING, msg, false) },
	}
	if s, ok := getString(inputs, "stdin"); ok {
		spec.stdin = &s
	}
	if s, ok := getString(inputs, "logging"); ok && s != "" {
		spec.logging = s
	}
	switch t {
	case localCommandType:
		spec.dir, _ = getString(inputs, "dir")
		spec.interpreter = getStringList(inputs, "interpreter")
		return runLocal(ctx, spec)
	case remoteCommandType:
		conn, ok := getObject(inputs, "connection")
		if !ok {
			return nil, fmt.Errorf("connection is required")
		}
		return runRemote(ctx, spec, parseConnection(conn))
	}
	return nil, fmt.Errorf("unknown resource type %s", t)
}
