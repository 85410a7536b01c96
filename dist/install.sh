#!/usr/bin/env bash
# Install ocserv-agent on this machine (or into an alternative root).
# Run as root. Safe to run again: it upgrades the binary and the unit, and
# never overwrites an existing /etc/ocserv-agent.env. See --help.
set -euo pipefail

readonly SERVICE_USER=ocservagent
readonly SERVICE_GROUP=ocservagent
readonly UNIT_NAME=ocserv-agent.service
# Privilege-separated (default) and sudo-mode units; either is installed as
# $UNIT_NAME, so the service keeps its name when the mode changes.
readonly UNIT_SRC_PRIVSEP=ocserv-agent.service
readonly UNIT_SRC_SUDO=ocserv-agent-sudo.service
# The first line of every sudo rule this script writes: a rule that starts
# with it is ours to replace or remove.
readonly SUDOERS_MARK="# Written by ocserv-agent's install.sh, and replaced on every run. Re-run"
readonly BIN_DEST=/usr/local/bin/ocserv-agent
readonly UNIT_DEST=/etc/systemd/system/$UNIT_NAME
readonly ENV_DEST=/etc/ocserv-agent.env
readonly SUDOERS_DEST=/etc/sudoers.d/ocserv-agent
readonly STATE_DIR=/var/lib/ocserv-agent
readonly DEFAULT_OCCTL=/usr/bin/occtl
readonly DEFAULT_SYSTEMCTL=/usr/bin/systemctl
readonly DEFAULT_OCSERV_UNIT=ocserv.service
readonly DEFAULT_OCSERV=/usr/sbin/ocserv
readonly DEFAULT_OCSERV_CONF=/etc/ocserv/ocserv.conf
readonly HOOK_DEST=/usr/local/libexec/ocserv-agent/ocserv-agent-hook

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname -- "$script_dir")

usage() {
	cat <<EOF
Usage: $(basename -- "$0") [--sudo-mode] [--bin PATH] [--root DIR]

Installs ocserv-agent as a systemd service, by default privilege-separated:
the service starts as root; a root process does only the privileged
operations (ocserv's control socket, occtl, ocserv -t, systemctl, writing
the files under /etc/ocserv) and an api process serves HTTP(S) as the
unprivileged user "$SERVICE_USER" without capabilities, in a seccomp
sandbox. No sudo is involved. It installs:
  - system user and group "$SERVICE_USER" (no login shell, no home): the api
    process's user (AGENT_USER)
  - $STATE_DIR (owner root, mode 0711; its api/ subdirectory belongs to
    $SERVICE_USER and is made by the agent)
  - the binary as $BIN_DEST
  - dist/$UNIT_SRC_PRIVSEP as $UNIT_DEST, enabled (not started)
  - ocserv's connect/disconnect hook as $HOOK_DEST (set it as
    connect-script and disconnect-script in ocserv.conf yourself)
  - $ENV_DEST with a new random token and OCCTL_USE_SUDO=false, only if the
    file does not exist
  and removes $SUDOERS_DEST if an earlier --sudo-mode run wrote it: the
  api process's user must not hold sudo rights.

With --sudo-mode, the whole agent runs unprivileged as "$SERVICE_USER" and
reaches ocserv through "sudo -n" (AGENT_PRIVSEP=off; the runbook's older
deployment, with a weaker sandbox). Instead of the above it installs
dist/$UNIT_SRC_SUDO as $UNIT_DEST, makes $STATE_DIR
owned by $SERVICE_USER (mode 0750), and writes
  - $SUDOERS_DEST allowing $SERVICE_USER to run, as root, only the
    occtl commands the agent runs (OCCTL_PATH from $ENV_DEST when set,
    else $DEFAULT_OCCTL; with "-s OCCTL_SOCKET" when that is set there)
    "systemctl start|stop|restart|reload" of ocserv's unit
    (SYSTEMCTL_PATH, else $DEFAULT_SYSTEMCTL; OCSERV_UNIT, else
    $DEFAULT_OCSERV_UNIT) and the configuration check "ocserv -t -c CONF"
    (OCSERV_PATH, else $DEFAULT_OCSERV; OCSERV_CONF_PATH, else
    $DEFAULT_OCSERV_CONF); none when OCCTL_USE_SUDO=false there

Options:
  --sudo-mode  install the unprivileged sudo-mode unit and the sudo rule
  --bin PATH   binary to install (default: <repo>/build/ocserv-agent)
  --root DIR   install into DIR instead of / (for tests and image builds):
               every path is prefixed with DIR, users are added to DIR's
               /etc/passwd and /etc/group, and systemd is not contacted
  -h, --help   show this help

Running it again is safe: the binary, unit and sudo rule are replaced, the
user and env file are kept, and the files in the state directory are given
to the mode's owner (its api/ subdirectory excepted). Running it again
without --sudo-mode switches a sudo-mode installation to privilege
separation, and with it switches back. In sudo mode, run it again after
changing OCCTL_PATH, OCCTL_SOCKET, OCCTL_USE_SUDO, SYSTEMCTL_PATH,
OCSERV_UNIT, OCSERV_PATH or OCSERV_CONF_PATH in $ENV_DEST.
EOF
}

# Create a directory (and its parents) only if missing; never change the mode
# or owner of an existing system directory.
ensure_dir() { # ensure_dir DIR MODE
	[ -d "$1" ] || install -d -m "$2" -o 0 -g 0 "$1"
}

# Temporary file being prepared; removed if the script stops half-way.
tmp=
trap 'if [ -n "$tmp" ]; then rm -f -- "$tmp"; fi' EXIT

die() {
	echo "install.sh: error: $*" >&2
	exit 1
}

note() {
	echo "install.sh: $*"
}

bin_src=$repo_dir/build/ocserv-agent
root=
agent_mode=privsep

while [ $# -gt 0 ]; do
	case $1 in
	--bin)
		[ $# -ge 2 ] || die "--bin needs a path"
		bin_src=$2
		shift 2
		;;
	--bin=*)
		bin_src=${1#--bin=}
		shift
		;;
	--root)
		[ $# -ge 2 ] || die "--root needs a directory"
		root=$2
		shift 2
		;;
	--root=*)
		root=${1#--root=}
		shift
		;;
	--sudo-mode)
		agent_mode=sudo
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown argument: $1"
		;;
	esac
done

[ "$(id -u)" -eq 0 ] || die "must run as root"

if [ -n "$root" ]; then
	[ -d "$root" ] || die "--root $root is not a directory"
	root=$(cd -- "$root" && pwd)
	[ "$root" != / ] || root=
fi

[ -f "$bin_src" ] || die "binary not found: $bin_src (build first, or pass --bin PATH)"
[ -x "$bin_src" ] || die "binary is not executable: $bin_src"
if [ "$agent_mode" = sudo ]; then
	unit_src=$script_dir/$UNIT_SRC_SUDO
else
	unit_src=$script_dir/$UNIT_SRC_PRIVSEP
fi
env_example=$script_dir/ocserv-agent.env.example
[ -f "$unit_src" ] || die "unit file not found: $unit_src"
[ -f "$env_example" ] || die "env example not found: $env_example"

# --- preflight: the env file, and occtl path and socket for the sudo rule -----

# Value of KEY in an existing env file, read as the agent reads it: the last
# uncommented assignment, surrounding spaces removed, then one pair of
# matching quotes. Empty (or no file) means unset.
env_value() { # env_value KEY
	local v
	[ -f "$root$ENV_DEST" ] || return 0
	v=$(sed -n "s/^[[:space:]]*\\(export[[:space:]]\\{1,\\}\\)\\{0,1\\}$1[[:space:]]*=//p" \
		"$root$ENV_DEST" | tail -n 1 | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
	if [ ${#v} -ge 2 ] && { [[ $v == \"*\" ]] || [[ $v == \'*\' ]]; }; then
		v=${v:1:${#v}-2}
	fi
	printf '%s' "$v"
}

# Only plain absolute paths go into the sudo rule: sudoers gives meaning to
# many other characters (, : = \ * ? [ ] ! # " ^ and white space).
plain_path() { # plain_path VALUE
	[[ $1 =~ ^/[A-Za-z0-9._/+-]+$ ]]
}

# A unit name as the agent accepts it, less ':', which sudoers would read as
# a separator.
plain_unit() { # plain_unit VALUE
	[[ $1 =~ ^[A-Za-z0-9_.@][A-Za-z0-9_.@-]*\.service$ ]] && [ ${#1} -le 255 ]
}

# The rule allows "occtl -s SOCKET ...". sudo matches the arguments as one
# string, so it also allows "occtl -s 'SOCKET -j show user x'" (one argument),
# which occtl reads as another socket path, in interactive mode. Harmless as
# long as nobody but root can create files next to the socket or rename a
# directory above it: check every existing directory on the way.
socket_dirs_safe() { # socket_dirs_safe SOCKET -> 0, or 1 with the culprit in $unsafe_dir
	local d owner mode
	d=$(dirname -- "$1")
	# Under --root, the target's top directory is only a build directory.
	while [ "$d" != / ] || [ -z "$root" ]; do
		if [ -e "$root$d" ]; then
			owner=$(stat -L -c %u -- "$root$d")
			mode=$(stat -L -c %a -- "$root$d")
			if [ "$owner" != 0 ] || (((8#$mode & 8#022) != 0)); then
				unsafe_dir=$d
				return 1
			fi
		fi
		[ "$d" != / ] || break
		d=$(dirname -- "$d")
	done
	return 0
}

# Only the sudo mode uses sudo: the privilege-separated root process runs
# occtl, systemctl and ocserv -t itself.
use_sudo=no
sudo_setting=$(env_value OCCTL_USE_SUDO | tr '[:upper:]' '[:lower:]')
if [ "$agent_mode" = sudo ]; then
	use_sudo=yes
	case $sudo_setting in
	false | 0 | no) use_sudo=no ;;
	esac
fi

occtl_path=$(env_value OCCTL_PATH)
[ -n "$occtl_path" ] || occtl_path=$DEFAULT_OCCTL
occtl_socket=$(env_value OCCTL_SOCKET)
systemctl_path=$(env_value SYSTEMCTL_PATH)
[ -n "$systemctl_path" ] || systemctl_path=$DEFAULT_SYSTEMCTL
ocserv_unit=$(env_value OCSERV_UNIT)
[ -n "$ocserv_unit" ] || ocserv_unit=$DEFAULT_OCSERV_UNIT
ocserv_path=$(env_value OCSERV_PATH)
[ -n "$ocserv_path" ] || ocserv_path=$DEFAULT_OCSERV
ocserv_conf=$(env_value OCSERV_CONF_PATH)
[ -n "$ocserv_conf" ] || ocserv_conf=$DEFAULT_OCSERV_CONF
if [ "$use_sudo" = yes ]; then
	plain_path "$occtl_path" ||
		die "OCCTL_PATH '$occtl_path' is not a plain absolute path; not writing a sudo rule"
	plain_path "$systemctl_path" ||
		die "SYSTEMCTL_PATH '$systemctl_path' is not a plain absolute path; not writing a sudo rule"
	plain_path "$ocserv_path" ||
		die "OCSERV_PATH '$ocserv_path' is not a plain absolute path; not writing a sudo rule"
	plain_path "$ocserv_conf" ||
		die "OCSERV_CONF_PATH '$ocserv_conf' is not a plain absolute path; not writing a sudo rule"
	plain_unit "$ocserv_unit" ||
		die "OCSERV_UNIT '$ocserv_unit' is not a plain unit name (letters, digits and . _ @ - only, ending in .service); not writing a sudo rule"
	if [ -n "$occtl_socket" ]; then
		plain_path "$occtl_socket" ||
			die "OCCTL_SOCKET '$occtl_socket' is not a plain absolute path (letters, digits and . _ / + - only); not writing a sudo rule"
		unsafe_dir=
		socket_dirs_safe "$occtl_socket" ||
			die "OCCTL_SOCKET '$occtl_socket': $unsafe_dir is writable by users other than root; put the socket in a directory only root can write (ocserv.conf occtl-socket-file)"
	fi
	command -v visudo >/dev/null ||
		die "visudo not found: install sudo (apt-get install sudo), or set OCCTL_USE_SUDO=false in $ENV_DEST and run the agent as root"
fi

# --- user and group --------------------------------------------------------

# Look a name up in the target's database: the files under --root, or NSS.
lookup() { # lookup passwd|group NAME
	if [ -n "$root" ]; then
		[ -f "$root/etc/$1" ] && grep -q "^$2:" "$root/etc/$1"
	else
		getent "$1" "$2" >/dev/null
	fi
}

id_of() { # id_of passwd|group NAME -> numeric id in the target
	if [ -n "$root" ]; then
		awk -F: -v n="$2" '$1 == n { print $3; exit }' "$root/etc/$1"
	else
		getent "$1" "$2" | cut -d: -f3
	fi
}

root_args=()
[ -z "$root" ] || root_args=(--root "$root")

nologin=/usr/sbin/nologin
[ -x "$root$nologin" ] || [ -x "$nologin" ] || nologin=/bin/false

if lookup group "$SERVICE_GROUP"; then
	note "group $SERVICE_GROUP exists"
else
	groupadd "${root_args[@]}" --system "$SERVICE_GROUP"
	note "created group $SERVICE_GROUP"
fi

if lookup passwd "$SERVICE_USER"; then
	note "user $SERVICE_USER exists"
else
	useradd "${root_args[@]}" --system --gid "$SERVICE_GROUP" \
		--no-create-home --home-dir /nonexistent --shell "$nologin" \
		--comment "ocserv-agent" "$SERVICE_USER"
	note "created user $SERVICE_USER"
fi

uid=$(id_of passwd "$SERVICE_USER")
gid=$(id_of group "$SERVICE_GROUP")
{ [ -n "$uid" ] && [ -n "$gid" ]; } || die "cannot resolve $SERVICE_USER:$SERVICE_GROUP"

# --- state directory -------------------------------------------------------

# The unit's StateDirectory= makes systemd chown the whole tree to the
# unit's user whenever the top directory is not that user's: root in the
# privilege-separated unit (which would take api/ away from the api
# process), ocservagent in the sudo-mode one. So the tree gets its owner
# here: the top directory and everything in it except api/, which belongs
# to the api process's user and is kept so by the agent. In privilege-
# separated mode nothing else may stay the api user's (config-backups/ is
# restored into ocserv.conf by root). Symbolic links and files with other
# hard links are left alone: they may point elsewhere.
if [ "$agent_mode" = sudo ]; then
	state_owner=$uid:$gid
	state_mode=0750
else
	state_owner=0:0
	state_mode=0711
fi
ensure_dir "$root/var/lib" 0755
state_dir=$root$STATE_DIR
install -d -m "$state_mode" -o "${state_owner%:*}" -g "${state_owner#*:}" "$state_dir"
# find -path takes a pattern: quote the glob characters of the root's path.
api_pattern=$(printf '%s/api' "$state_dir" | sed 's/[][*?\\]/\\&/g')
find "$state_dir" -path "$api_pattern" -prune -o ! -type l \( -type d -o -links 1 \) \
	-exec chown -- "$state_owner" {} +
# install -d leaves an existing directory's mode alone: enforce it.
chmod "$state_mode" "$state_dir"
note "state directory $STATE_DIR ready (owner ${state_owner%:*}, mode $state_mode)"

# --- binary and unit -------------------------------------------------------

# Copy next to the target, then rename: a running agent keeps its old inode.
install_file() { # install_file SRC DEST MODE
	ensure_dir "$(dirname -- "$2")" 0755
	tmp=$(mktemp "$2.XXXXXX")
	cp -- "$1" "$tmp"
	chown 0:0 "$tmp"
	chmod "$3" "$tmp"
	mv -f -- "$tmp" "$2"
	tmp=
}

install_file "$bin_src" "$root$BIN_DEST" 0755
note "installed $BIN_DEST"
install_file "$unit_src" "$root$UNIT_DEST" 0644
note "installed $UNIT_DEST"
install_file "$script_dir/ocserv-agent-hook" "$root$HOOK_DEST" 0755
note "installed $HOOK_DEST (ocserv.conf: connect-script = $HOOK_DEST, disconnect-script = $HOOK_DEST)"

# --- env file (never overwritten) -------------------------------------------

env_created=no
if [ -e "$root$ENV_DEST" ]; then
	note "$ENV_DEST exists, left unchanged"
else
	token=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
	[ ${#token} -eq 64 ] || die "could not generate a token"
	ensure_dir "$root/etc" 0755
	tmp=$(mktemp "$root$ENV_DEST.XXXXXX")
	# Privilege-separated: the root process runs occtl, systemctl and
	# ocserv -t itself, never through sudo.
	sudo_line='s/^#OCCTL_USE_SUDO=true$/&/'
	[ "$agent_mode" = sudo ] || sudo_line='s/^#OCCTL_USE_SUDO=true$/OCCTL_USE_SUDO=false/'
	sed -e "s/^AGENT_AUTH_TOKEN_CURRENT=.*/AGENT_AUTH_TOKEN_CURRENT=$token/" \
		-e "$sudo_line" "$env_example" >"$tmp"
	unset token
	grep -q '^AGENT_AUTH_TOKEN_CURRENT=[0-9a-f]\{64\}$' "$tmp" ||
		die "env example has no AGENT_AUTH_TOKEN_CURRENT= line"
	[ "$agent_mode" = sudo ] || grep -q '^OCCTL_USE_SUDO=false$' "$tmp" ||
		die "env example has no #OCCTL_USE_SUDO=true line"
	chown 0:0 "$tmp"
	chmod 0600 "$tmp"
	mv -- "$tmp" "$root$ENV_DEST"
	tmp=
	env_created=yes
	note "created $ENV_DEST with a new token"
fi

# --- sudoers rule ------------------------------------------------------------

# Remove the rule an earlier --sudo-mode run wrote: in privilege-separated
# mode nothing uses it, and the api process's user must not keep it.
remove_sudo_rule() {
	[ -e "$root$SUDOERS_DEST" ] || return 0
	if [ "$(head -n 1 -- "$root$SUDOERS_DEST")" = "$SUDOERS_MARK" ]; then
		rm -f -- "$root$SUDOERS_DEST"
		note "removed $SUDOERS_DEST (sudo mode's rule; privilege separation needs no sudo)"
	else
		note "warning: $SUDOERS_DEST was not written by install.sh: left in place; make sure it gives $SERVICE_USER nothing"
	fi
}

if [ "$agent_mode" = privsep ]; then
	remove_sudo_rule
elif [ "$use_sudo" = no ]; then
	note "OCCTL_USE_SUDO=false: no sudo rule written; the agent must run as root"
else
	ensure_dir "$root/etc/sudoers.d" 0755
	# sudo ignores files in sudoers.d whose names contain a dot, so a leftover
	# temporary file can never become an active rule.
	tmp=$(mktemp "$root$SUDOERS_DEST.XXXXXX")
	occtl=$occtl_path${occtl_socket:+ -s $occtl_socket}
	cat >"$tmp" <<EOF
$SUDOERS_MARK
# install.sh after changing OCCTL_PATH, OCCTL_SOCKET, OCCTL_USE_SUDO,
# SYSTEMCTL_PATH, OCSERV_UNIT, OCSERV_PATH or OCSERV_CONF_PATH in $ENV_DEST. The agent runs
# "sudo -n OCCTL_PATH [-s OCCTL_SOCKET] ..." and
# "sudo -n SYSTEMCTL_PATH ACTION OCSERV_UNIT", and sudo refuses every
# command line that differs from those below.
#
# The agent (user $SERVICE_USER) may run, as root and without a password,
# exactly the occtl commands it uses and nothing else: not "stop now", not
# "show events", not another socket, not output without -j. It runs
# "reload" only after "ocserv -t" accepted the configuration.
#
# sudo matches the arguments as one string, and "*" there matches any text,
# spaces included. That cannot reach another occtl command: occtl reads its
# options (-s, -j) only before the first command word, and hands all the
# words after "show user", "show id", "show session", "disconnect user|id",
# "unban ip" or "terminate user|id|session" to that command as its argument.
#
# NOEXEC: occtl may not start other programs. On a terminal it pipes its
# output through a pager (less), whose "!" command would be a root shell.
# The agent never needs a pager.
Cmnd_Alias OCSERV_AGENT_OCCTL = \\
	$occtl -j show status, \\
	$occtl -j show users, \\
	$occtl -j show user *, \\
	$occtl -j show id [1-9]*, \\
	$occtl -j show sessions all, \\
	$occtl -j show sessions valid, \\
	$occtl -j show session *, \\
	$occtl -j show iroutes, \\
	$occtl -j show ip bans, \\
	$occtl -j show ip ban points, \\
	$occtl disconnect id [1-9]*, \\
	$occtl disconnect user *, \\
	$occtl unban ip *, \\
	$occtl reload, \\
	$occtl terminate id [1-9]*, \\
	$occtl terminate user *, \\
	$occtl terminate session *
#
# The configuration check before every reload, restart or start: ocserv -t
# reads the configuration, its keys and certificates (root-only) and exits.
Cmnd_Alias OCSERV_AGENT_CHECK = $ocserv_path -t -c $ocserv_conf
#
# ocserv's unit may be started, stopped, restarted and reloaded: no other
# unit, no other systemctl command (not enable, edit, kill, set-property,
# daemon-reload). The agent reads the unit's state without sudo. systemctl
# only talks to systemd over its socket, so NOEXEC costs it nothing.
Cmnd_Alias OCSERV_AGENT_SYSTEMCTL = \\
	$systemctl_path start $ocserv_unit, \\
	$systemctl_path stop $ocserv_unit, \\
	$systemctl_path restart $ocserv_unit, \\
	$systemctl_path reload $ocserv_unit
$SERVICE_USER ALL=(root) NOPASSWD:NOEXEC: OCSERV_AGENT_OCCTL, OCSERV_AGENT_SYSTEMCTL, OCSERV_AGENT_CHECK
EOF
	chown 0:0 "$tmp"
	chmod 0440 "$tmp"
	visudo -cqf "$tmp" >/dev/null ||
		die "the generated sudoers rule does not validate; $SUDOERS_DEST left unchanged"
	mv -f -- "$tmp" "$root$SUDOERS_DEST"
	tmp=
	note "installed $SUDOERS_DEST (as root: the occtl commands of the agent, $systemctl_path start|stop|restart|reload $ocserv_unit, $ocserv_path -t -c $ocserv_conf)"
fi

# --- enable the unit ---------------------------------------------------------

enable_by_symlink() {
	local wants=$root/etc/systemd/system/multi-user.target.wants
	ensure_dir "$wants" 0755
	ln -sfn "$UNIT_DEST" "$wants/$UNIT_NAME"
}

if [ -n "$root" ]; then
	systemctl --root="$root" enable "$UNIT_NAME" >/dev/null 2>&1 || enable_by_symlink
	note "enabled $UNIT_NAME in $root (not started)"
elif [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	systemctl enable "$UNIT_NAME" >/dev/null 2>&1
	note "enabled $UNIT_NAME"
else
	# Not booted with systemd (container, chroot): enable offline.
	systemctl --root=/ enable "$UNIT_NAME" >/dev/null 2>&1 || enable_by_symlink
	note "systemd is not running; $UNIT_NAME enabled for the next boot"
fi

# --- next steps --------------------------------------------------------------

echo
if [ "$agent_mode" = sudo ]; then
	echo "ocserv-agent is installed${root:+ in $root}, in sudo mode (unprivileged, one process)."
else
	echo "ocserv-agent is installed${root:+ in $root}, privilege-separated (root + unprivileged api process)."
	# The env file is never edited: point out settings that do not fit.
	case $sudo_setting in
	false | 0 | no) ;;
	*) echo "  Set OCCTL_USE_SUDO=false in $ENV_DEST: in this mode the root process runs occtl, systemctl and ocserv -t itself." ;;
	esac
	case $(env_value AGENT_PRIVSEP) in
	off) echo "  Warning: AGENT_PRIVSEP=off in $ENV_DEST runs the whole agent as root in one process; remove the line." ;;
	esac
	agent_user=$(env_value AGENT_USER)
	if [ -n "$agent_user" ] && [ "$agent_user" != "$SERVICE_USER" ] && ! lookup passwd "$agent_user"; then
		echo "  Warning: AGENT_USER=$agent_user in $ENV_DEST does not exist; the agent will not start."
	fi
fi
if [ "$env_created" = yes ]; then
	echo "  A new API token is in $ENV_DEST (root only):"
	echo "    sed -n 's/^AGENT_AUTH_TOKEN_CURRENT=//p' $ENV_DEST"
else
	echo "  Your existing $ENV_DEST was kept."
fi
if [ -z "$root" ]; then
	echo "  Check the configuration:"
	echo "    $BIN_DEST --env-file $ENV_DEST --check-config"
	if [ -d /run/systemd/system ] && systemctl is-active --quiet "$UNIT_NAME"; then
		echo "  The agent is running the previous binary; to switch:"
		echo "    systemctl restart $UNIT_NAME"
	else
		echo "  Start it:"
		echo "    systemctl start $UNIT_NAME && systemctl status $UNIT_NAME --no-pager"
	fi
	echo "  Try it:"
	echo "    curl -s -H \"Authorization: Bearer \$TOKEN\" http://127.0.0.1:8088/ocserv/health"
	[ -x "$occtl_path" ] || echo "  Warning: $occtl_path not found; install ocserv (or set OCCTL_PATH)."
	if [ "$use_sudo" = yes ] && ! grep -Eq '^[@#]includedir[[:space:]]+/etc/sudoers\.d' /etc/sudoers; then
		echo "  Warning: /etc/sudoers does not include /etc/sudoers.d; the sudo rule is inactive."
	fi
fi
echo "  Operations guide: docs/operations.md"
