package main

// The package schema of this provider: the tokens, property names and types of the
// parts it implements, as the published @pulumi/command 1.2.1 SDK declares them, so that
// schema-driven consumers work with it: the YAML language host (which resolves every
// resource type from its provider's schema) and the schema binder behind `pulumi package
// get-schema`/`gen-sdk`/`add` of a component package whose outputs reference
// command:remote:Command. Written for this provider (no upstream schema file is used);
// descriptions are short on purpose. What it does not implement (CopyFile, the
// assets/archive outputs) is not declared.

func str(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
func boolean(desc string) map[string]any {
	return map[string]any{"type": "boolean", "description": desc}
}
func strList(desc string) map[string]any {
	return map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": desc}
}
func strMap(desc string) map[string]any {
	return map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}, "description": desc}
}
func ref(token, desc string) map[string]any {
	return map[string]any{"$ref": "#/types/" + token, "description": desc}
}
func secret(p map[string]any) map[string]any { p["secret"] = true; return p }

func loggingEnum(desc string) map[string]any {
	return map[string]any{
		"type":        "string",
		"description": desc,
		"enum": []any{
			map[string]any{"name": "Stdout", "value": "stdout", "description": "Capture stdout in logs but not stderr."},
			map[string]any{"name": "Stderr", "value": "stderr", "description": "Capture stderr in logs but not stdout."},
			map[string]any{"name": "StdoutAndStderr", "value": "stdoutAndStderr", "description": "Capture stdout and stderr in logs."},
			map[string]any{"name": "None", "value": "none", "description": "Capture no logs."},
		},
	}
}

// commonInputs are the inputs local and remote commands share.
func commonInputs(logging string) map[string]any {
	return map[string]any{
		"create":                 str("The command to run on create."),
		"update":                 str("The command to run on update; `create` when unset."),
		"delete":                 str("The command to run on delete."),
		"environment":            strMap("Additional environment variables for the command."),
		"stdin":                  str("Data passed to the command's standard input."),
		"triggers":               map[string]any{"type": "array", "items": map[string]any{"$ref": "pulumi.json#/Any"}, "replaceOnChanges": true, "description": "Changes to any of these values replace the resource."},
		"addPreviousOutputInEnv": boolean("Whether PULUMI_COMMAND_STDOUT/STDERR carry the previous output. Default true."),
		"logging":                ref(logging, "Which output streams are logged. Default stdoutAndStderr."),
	}
}

func withOutputs(in map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range in {
		out[k] = v
	}
	out["stdout"] = str("The standard output of the command.")
	out["stderr"] = str("The standard error of the command.")
	return out
}

func packageSchema(version string) map[string]any {
	connection := map[string]any{
		"host":               str("The address of the host to connect to."),
		"port":               map[string]any{"type": "number", "default": 22, "description": "The port to connect to. Default 22."},
		"user":               map[string]any{"type": "string", "default": "root", "description": "The user to connect as. Default root."},
		"password":           secret(str("The password to authenticate with.")),
		"privateKey":         secret(str("The contents of an SSH private key.")),
		"privateKeyPassword": secret(str("The passphrase of the private key.")),
		"agentSocketPath":    str("The path to an SSH agent socket; SSH_AUTH_SOCK when unset."),
		"dialErrorLimit":     map[string]any{"type": "integer", "default": 10, "description": "Failed dial attempts before giving up (-1: unlimited). Default 10."},
		"perDialTimeout":     map[string]any{"type": "integer", "default": 15, "description": "Seconds each TCP connect may take. Default 15."},
		"hostKey":            str("The expected host key (OpenSSH public key line); not verified when unset."),
	}
	proxy := map[string]any{}
	for k, v := range connection {
		proxy[k] = v
	}
	connection["proxy"] = ref("command:remote:ProxyConnection", "A jump host to connect through.")

	local := commonInputs("command:local:Logging")
	local["dir"] = str("The working directory of the command.")
	local["interpreter"] = strList("The interpreter and its arguments; `/bin/sh -c` when unset.")
	local["assetPaths"] = strList("Not implemented by this build (accepted, ignored).")
	local["archivePaths"] = strList("Not implemented by this build (accepted, ignored).")

	remote := commonInputs("command:remote:Logging")
	remote["connection"] = secret(ref("command:remote:Connection", "How to reach the host over SSH."))

	// CopyToRemote: outputs are the inputs. `source` is pulumi.json#/Asset as in
	// upstream's schema (the SDKs map it to an asset or an archive).
	copyInputs := map[string]any{
		"connection": secret(ref("command:remote:Connection", "How to reach the host over SSH.")),
		"triggers":   map[string]any{"type": "array", "items": map[string]any{"$ref": "pulumi.json#/Any"}, "replaceOnChanges": true, "description": "Changes to any of these values replace the resource."},
		"source":     map[string]any{"$ref": "pulumi.json#/Asset", "description": "A FileAsset, StringAsset or path FileArchive (file or directory) to copy."},
		"remotePath": str("The destination path on the remote host; parent directories are created."),
	}
	copyRequired := []string{"connection", "source", "remotePath"}

	runInputs := map[string]any{
		"command":                str("The command to run."),
		"dir":                    str("The working directory of the command."),
		"environment":            strMap("Additional environment variables for the command."),
		"interpreter":            strList("The interpreter and its arguments; `/bin/sh -c` when unset."),
		"stdin":                  str("Data passed to the command's standard input."),
		"addPreviousOutputInEnv": boolean("Unused by run."),
		"logging":                ref("command:local:Logging", "Which output streams are logged. Default stdoutAndStderr."),
		"assetPaths":             strList("Not implemented by this build (accepted, ignored)."),
		"archivePaths":           strList("Not implemented by this build (accepted, ignored)."),
	}

	return map[string]any{
		"name":        "command",
		"version":     version,
		"displayName": "Command",
		"description": "Local and remote commands (the project's build of the provider: local.Command, remote.Command, remote.CopyToRemote, local.run).",
		"config":      map[string]any{},
		"provider":    map[string]any{"description": "The provider type for the command package."},
		"language": map[string]any{
			"nodejs": map[string]any{"packageName": "@pulumi/command"},
			"go":     map[string]any{"importBasePath": "github.com/pulumi/pulumi-command/sdk/go/command"},
		},
		"types": map[string]any{
			"command:local:Logging":  loggingEnum("Which output streams are logged."),
			"command:remote:Logging": loggingEnum("Which output streams are logged."),
			"command:remote:Connection": map[string]any{
				"type": "object", "description": "Instructions for how to connect to a remote endpoint.",
				"properties": connection, "required": []string{"host"},
			},
			"command:remote:ProxyConnection": map[string]any{
				"type": "object", "description": "Instructions for how to connect to a remote endpoint through a proxy.",
				"properties": proxy, "required": []string{"host"},
			},
		},
		"resources": map[string]any{
			localCommandType: map[string]any{
				"description":     "A local command to be executed.",
				"inputProperties": local,
				"properties":      withOutputs(local),
				"required":        []string{"stdout", "stderr"},
			},
			remoteCommandType: map[string]any{
				"description":     "A command to run on a remote host over SSH.",
				"inputProperties": remote,
				"requiredInputs":  []string{"connection"},
				"properties":      withOutputs(remote),
				"required":        []string{"connection", "stdout", "stderr"},
			},
			copyToRemoteType: map[string]any{
				"description":     "Copies an asset or an archive to a remote host over SFTP.",
				"inputProperties": copyInputs,
				"requiredInputs":  copyRequired,
				"properties":      copyInputs,
				"required":        copyRequired,
			},
		},
		"functions": map[string]any{
			localRunFunction: map[string]any{
				"description": "Runs a shell command on the local machine.",
				"inputs": map[string]any{
					"properties": runInputs, "required": []string{"command"},
				},
				"outputs": map[string]any{
					"properties": withOutputs(runInputs), "required": []string{"command", "stdout", "stderr"},
				},
			},
		},
	}
}
