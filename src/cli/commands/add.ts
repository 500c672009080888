/**
 * `jumpgate add`: ssh-add's counterpart, for OpenSSH's ssh-agent or jumpgate's. Registration only;
 * the run (../add/run.ts) is loaded when the command runs.
 */
import type { Command } from "commander";

const HELP = `
Talks to the agent at $SSH_AUTH_SOCK, like ssh-add, with ssh-add's messages and exit status
(0 done, 1 failed, 2 no agent). Without options it adds the keys named, or the default ones that
exist: ~/.ssh/id_rsa, id_ecdsa, id_ecdsa_sk, id_ed25519, id_ed25519_sk, id_dsa.

Options (as in ssh-add):
  -l                 list the agent's keys' fingerprints: bits SHA256:... comment (TYPE)
  -L                 list the agent's public keys (authorized_keys format)
  -d file...         remove the keys whose public part is in file (or file.pub)
  -D                 remove every key
  -x / -X            lock / unlock the agent with a password (asked on the terminal or via SSH_ASKPASS)
  -t life            the agent forgets the keys after life: seconds or 1h30m, 2d, 90s...
  -c                 the agent asks for confirmation before each use of the keys
  -h [user@]host     the agent lets the key be used only to log in to host (as user), straight from
                     here; repeat -h to allow more hosts (ssh-add -h, OpenSSH 8.9+ agents)
  -h "from>[user@]to"
                     also allow it from host 'from' on to host 'to' through a forwarded agent
                     (ssh -A from, then ssh to); hosts' keys are looked up in known_hosts
  -H file            known_hosts file for -h (repeatable; default ~/.ssh/known_hosts,
                     ~/.ssh/known_hosts2, /etc/ssh/ssh_known_hosts, /etc/ssh/ssh_known_hosts2)
  -q                 quiet
  -Q                 list the extensions the agent supports (the "query" extension)

Passphrases are asked on the terminal, or through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force).
Key files readable by others are refused, as ssh-add does.

Examples:
  jumpgate add                                   add ~/.ssh/id_ed25519 and the other default keys
  jumpgate add -t 1h30m ~/.ssh/jaguar_ed25519    a key the agent forgets after 90 minutes
  jumpgate add -l                                what the agent holds, as 'ssh-add -l' prints it
  jumpgate add -h jaguar -h "jaguar>mcgonagall"  usable on jaguar, and from jaguar on to mcgonagall
                                                 (ssh -A jaguar, then ssh mcgonagall), nowhere else

As with ssh-add, -h is an option here: use --help for help.
`;

export function registerAddCommand(program: Command): void {
  program
    .command("add")
    .summary("add keys to an ssh-agent, list, remove, lock them, like ssh-add")
    .usage("[-cDdLlQqXx] [-H hostkey_file] [-h destination_constraint] [-t life] [file...]")
    .argument("[args...]")
    .allowUnknownOption()
    .allowExcessArguments()
    // -h is ssh-add's destination constraint, so help is --help only.
    .helpOption("--help", "show this help")
    .addHelpText("after", HELP)
    .action(async (args: string[]) => {
      const { runAdd } = await import("../add/run.js");
      process.exitCode = await runAdd(args);
    });
}
