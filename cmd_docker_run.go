package main

import (
	"github.com/urfave/cli/v2"
)

var dockerRunCommand = &cli.Command{
	Name:      "docker-run",
	Usage:     "run a Docker container with a deadline, supervised and recorded",
	ArgsUsage: "[OPTIONS] IMAGE [COMMAND [ARG]...]",
	Description: `Runs in watchdog-docker, the binary installed beside watchdog that holds the
Docker client (so that exec never loads it). Options:
  --id ID --timeout DUR --kill-after DUR --signal SIG --memory SIZE --cpus N
  --name NAME --keep --rm --init --entrypoint PROG --hostname NAME
  -e K=V... --env-file FILE... -v SRC:DST[:ro]... -w DIR -u USER --network NAME
  -p [IP:][HOST_PORT:]PORT[/PROTO]... --mount type=...,target=DST...
  --shm-size SIZE --cap-add CAP... --cap-drop CAP... --gpus all|N|device=ID
  --platform OS[/ARCH[/VARIANT]]
  --pull missing|never -i -t --label K=V... --preserve-status --verbose
  --log[=FILE] --log-max SIZE --idle-timeout DUR --registry PATH
"watchdog docker-run --help" shows them in full.`,
	SkipFlagParsing: true,
	Action: func(c *cli.Context) error {
		args := []string{"run"}
		if path := registryPath(c); c.Lineage()[1] != nil && c.Lineage()[1].IsSet("registry") {
			args = append(args, "--registry", path)
		}
		return execDockerHelper(append(args, c.Args().Slice()...))
	},
}
