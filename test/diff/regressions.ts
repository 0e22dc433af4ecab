/**
 * Fixed cases of the differential test: the configurations a review found read
 * differently by the old parser than by sshd (issue 18), and every configuration a
 * differential run ever found accepted with a deviating probe (add them here with the
 * seed and id it printed, as `generated(seed, id)`). Each is judged like a generated
 * case: accepted => no probe deviates; refused => /etc/ssh unchanged.
 */
import { CASE_USER, DiffCase, generateCase, placedFor, probesFor } from "./generator";

/** A case from its files; the probes come from the addresses, hosts and listeners it names. */
function regression(files: Record<string, string>, names: { addrs?: string[]; hosts?: string[]; usedns?: boolean; ports?: number[]; listen?: string[]; byListener?: boolean }, account: "present" | "absent" = "absent"): DiffCase {
    const hasInclude = /^\s*"?include"?[\s=]+"?(\/etc\/ssh\/)?sshd_config\.d\/\*\.conf/im.test(files["sshd_config"].split(/^\s*"?match/im)[0]);
    return {
        files,
        placed: placedFor(files, hasInclude),
        account,
        probes: probesFor({ text: "", addrs: names.addrs ?? [], wild: [], hosts: names.hosts ?? [], localAddrs: names.byListener ? ["127.0.0.1"] : [], localPorts: [] }, names.usedns ?? false, names.ports ?? [22], names.listen ?? []),
    };
}

/** A generated case kept because a run found it (seed and id as printed). */
export function generated(seed: number, id: number): DiffCase {
    return generateCase(seed, id);
}

const INCLUDE = "Include /etc/ssh/sshd_config.d/*.conf\n";
const OPEN = "    AllowTcpForwarding yes\n    PermitOpen any\n    PermitListen any\n    AllowStreamLocalForwarding yes\n    GatewayPorts yes\n    ForceCommand internal-sftp\n";

/** The named classes of issue 18, each as its own case. */
export const REGRESSIONS: ReadonlyArray<{ name: string; expect: "refused" | "accepted"; case: DiffCase }> = [
    {
        name: "trailing comment on a Match line (sshd stops at '#'; the old parser read 'user tunnel-x' as criteria)",
        expect: "refused",
        case: regression({ sshd_config: INCLUDE, "sshd_config.d/00-aaa.conf": `Match Address 198.51.100.0/24 # for user backup\n${OPEN}` }, { addrs: ["198.51.100.0/24"] }),
    },
    {
        name: "Match LocalPort read before the policy, sshd on two ports (the old probes tested only 0.0.0.0:22)",
        expect: "refused",
        case: regression({ sshd_config: `Port 22\nPort 2022\n${INCLUDE}`, "sshd_config.d/00-aaa.conf": `Match LocalPort 2022 # for user backup\n${OPEN}` }, { ports: [22, 2022], byListener: true }),
    },
    {
        name: "CRLF line endings in a drop-in (sshd strips the CR)",
        expect: "refused",
        case: regression({ sshd_config: INCLUDE, "sshd_config.d/00-aaa.conf": `Match Address 198.51.100.0/24 User tunnel-*\r\n${OPEN.replace(/\n/g, "\r\n")}` }, { addrs: ["198.51.100.0/24"] }),
    },
    {
        name: 'a quoted Include "..." path',
        expect: "refused",
        case: regression({ sshd_config: 'Include "/etc/ssh/sshd_config.d/*.conf"\n', "sshd_config.d/00-aaa.conf": `Match Group ${CASE_USER}\n${OPEN}` }, {}),
    },
    {
        name: "an Include inside a Match whose file has its own Match (sshd restores the outer block's state after it)",
        expect: "refused",
        case: regression({ sshd_config: INCLUDE, "sshd_config.d/00-aaa.conf": `Match Address 198.51.100.0/24\n    Include /etc/ssh/inner/*.conf\n${OPEN}`, "inner/a.conf": "Match User root\n    X11Forwarding no\n" }, { addrs: ["198.51.100.0/24"] }),
    },
    {
        name: "an Include inside a Match read before the policy (sshd_config's first Match precedes the drop-ins)",
        expect: "accepted",
        case: regression({ sshd_config: `Match Address 10.0.0.0/8\n    X11Forwarding no\nInclude /etc/ssh/sshd_config.d/*.conf\n`, "sshd_config.d/10-a.conf": `Match all\n${OPEN}` }, { addrs: ["10.0.0.0/8"] }),
    },
    {
        name: "a relative Include glob, read before the drop-ins (relative to /etc/ssh, not to the login's home)",
        expect: "refused",
        case: regression({ sshd_config: `Include *.conf\nInclude sshd_config.d/*.conf\n`, "early.conf": `Match all\n${OPEN}` }, {}),
    },
    {
        name: "a quoted keyword and the alias ChallengeResponseAuthentication",
        expect: "refused",
        case: regression({ sshd_config: INCLUDE, "sshd_config.d/00-aaa.conf": `"Match" Address 192.0.2.0/24\n    "ChallengeResponseAuthentication" yes\n` }, { addrs: ["192.0.2.0/24"] }),
    },
    {
        name: "a /24 and a single host no fixed probe address falls into",
        expect: "refused",
        case: regression({ sshd_config: INCLUDE, "sshd_config.d/00-aaa.conf": `Match Address 198.51.100.0/24,192.0.2.77\n${OPEN}` }, { addrs: ["198.51.100.0/24", "192.0.2.77"] }),
    },
    {
        name: "Match Host with UseDNS yes",
        expect: "refused",
        case: regression({ sshd_config: `UseDNS yes\n${INCLUDE}`, "sshd_config.d/00-aaa.conf": `Match Host *.corp.example\n${OPEN}` }, { hosts: ["*.corp.example"], usedns: true }),
    },
    {
        name: "harmless: Match User=root and a tab-separated Match (the old parser refused them)",
        expect: "accepted",
        case: regression({ sshd_config: INCLUDE, "sshd_config.d/00-aaa.conf": `Match User=root\n${OPEN}Match\tUser\tadmin\n${OPEN}` }, {}, "present"),
    },
];
