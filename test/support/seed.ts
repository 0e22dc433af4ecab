/**
 * The seed recipe (the blog post this project automates) applied to lab hosts as
 * published, for side-by-side baselines. Deviations, each forced by the lab:
 * - the script's `ping 8.8.8.8` probe targets main's public lab address instead
 *   (test traffic never leaves the machine);
 * - main's host key is pre-accepted into pi's known_hosts with ssh-keyscan (the post
 *   has a human accept it on first connect; this is that trust-on-first-use);
 * - the password prompt of `adduser` is skipped (the post then blanks the field).
 */
import { hostExec, LabDescription, getHost } from "../../lab/client";

/** The seed's account name on main. */
export const SEED_USER = "limited";

async function sh(host: string, script: string, stdin?: string) {
    const r = await hostExec(host, ["bash", "-c", script], stdin !== undefined ? { stdin } : {});
    if (r.code !== 0) throw new Error(`seed step failed on ${host}: ${r.stderr || r.stdout}`);
    return r;
}

/** Main side: user with empty password + nologin, key in ~/.ssh, `Match User limited / AllowTcpForwarding remote`. */
export async function applySeedMain(lab: LabDescription, publicKey: string): Promise<void> {
    await sh(
        lab.main,
        `set -e
key=$(cat)
id ${SEED_USER} >/dev/null 2>&1 || useradd -m -s /bin/bash ${SEED_USER}
usermod -s /usr/sbin/nologin ${SEED_USER}
passwd -d ${SEED_USER} >/dev/null
mkdir -p /home/${SEED_USER}/.ssh
touch /home/${SEED_USER}/.ssh/authorized_keys
grep -qxF "$key" /home/${SEED_USER}/.ssh/authorized_keys || printf '%s\\n' "$key" | tee -a /home/${SEED_USER}/.ssh/authorized_keys >/dev/null
grep -q '^Match User ${SEED_USER}$' /etc/ssh/sshd_config || printf '\\nMatch User ${SEED_USER}\\n        AllowTcpForwarding remote\\n' >>/etc/ssh/sshd_config
systemctl restart ssh`,
        publicKey,
    );
}

/** Undoes {@link applySeedMain}. */
export async function removeSeedMain(lab: LabDescription): Promise<void> {
    await sh(
        lab.main,
        `pkill -KILL -u ${SEED_USER} 2>/dev/null || true
sleep 0.2
id ${SEED_USER} >/dev/null 2>&1 && userdel -r ${SEED_USER} 2>/dev/null || true
sed -i '/^Match User ${SEED_USER}$/,/AllowTcpForwarding remote/d' /etc/ssh/sshd_config
sed -i -e :a -e '/^\\n*$/{$d;N;ba' -e '}' /etc/ssh/sshd_config
sshd -t && systemctl restart ssh`,
    );
}

/** Backup side: the seed's unit and script, running as pi with an ssh-agent. */
export async function applySeedBackup(lab: LabDescription, backupHost: string, privateKey: string, port: number): Promise<void> {
    const main = getHost(lab.main, lab);
    const mainAddr = main.addresses.public ?? main.addresses.operator;
    await sh(backupHost, `install -d -o pi -g pi -m 700 /home/pi/.ssh /home/pi/Scripts && cat > /home/pi/.ssh/id_rsa_backup_reverse_ssh && chown pi:pi /home/pi/.ssh/id_rsa_backup_reverse_ssh && chmod 600 /home/pi/.ssh/id_rsa_backup_reverse_ssh`, privateKey);
    await sh(backupHost, `ssh-keyscan -T 5 ${mainAddr} 2>/dev/null >>/home/pi/.ssh/known_hosts; chown pi:pi /home/pi/.ssh/known_hosts`);
    const script = `set -o errexit
set -o pipefail
set -o noclobber
set -o nounset
shopt -s nullglob
REMOTE_NAME_OR_IP="${mainAddr}"
USER_ON_REMOTE="${SEED_USER}"
SSH_PORT_ON_REMOTE="22"
FORWARDED_PORT_ON_REMOTE="${port}"
FORWARDED_PORT_ON_LOCAL="22"
echo "sleep..."
sleep 30
echo "wait for network"
while ! ping -c 1 -W 1 ${mainAddr}; do
    sleep 300
done
eval \`ssh-agent\`
ssh-add ~/.ssh/id_rsa_backup_reverse_ssh
while true; do
    ssh -o ServerAliveInterval=120 -o ServerAliveCountMax=3 -NR "\${FORWARDED_PORT_ON_REMOTE}":localhost:"\${FORWARDED_PORT_ON_LOCAL}" "\${USER_ON_REMOTE}"@"\${REMOTE_NAME_OR_IP}" -p "\${SSH_PORT_ON_REMOTE}"
    sleep 300
done
`;
    await sh(backupHost, `cat > /home/pi/Scripts/start_tunnel.sh && chown pi:pi /home/pi/Scripts/start_tunnel.sh`, script);
    const unit = `[Unit]
Description=Set up and maintain reverse tunnel
After=network.target

[Service]
User=pi
ExecStart=/bin/bash /home/pi/Scripts/start_tunnel.sh
Type=simple
Restart=always
RestartSec=15
KillMode=mixed

[Install]
WantedBy=multi-user.target
`;
    await sh(backupHost, `cat > /etc/systemd/system/tunnel.service && systemctl daemon-reload && systemctl enable --now tunnel.service`, unit);
}

/** Undoes {@link applySeedBackup}. */
export async function removeSeedBackup(lab: LabDescription, backupHost: string): Promise<void> {
    void lab;
    await sh(backupHost, `systemctl disable --now tunnel.service 2>/dev/null || true
rm -f /etc/systemd/system/tunnel.service && systemctl daemon-reload
pkill -u pi ssh-agent || true
rm -rf /home/pi/Scripts /home/pi/.ssh/id_rsa_backup_reverse_ssh
sed -i '/^10\.231\./d' /home/pi/.ssh/known_hosts 2>/dev/null || true`);
}
