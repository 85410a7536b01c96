/* `ocserv-agent hook [--socket PATH]`: what ocserv's connect-script and
 * disconnect-script run (through dist/ocserv-agent-hook). Sends the script
 * environment to the agent (hook_server.h) and exits 1 only when the agent
 * answers "deny" to a connect; any failure (agent down, timeout) exits 0, so
 * a broken agent never locks users out of the VPN. */
#pragma once

#define HOOK_TIMEOUT_MS 3000

/* Run the subcommand; argv[0] is "hook". Returns the exit status. */
int hook_main(int argc, char **argv);
