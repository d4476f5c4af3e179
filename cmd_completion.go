package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/supervise"
)

var completionCommand = &cli.Command{
	Name:      "completion",
	Usage:     "print a shell completion script (bash, zsh or fish)",
	ArgsUsage: "SHELL",
	Description: `Prints a script that completes watchdog's commands and options. Load it
from your shell's start-up file:

  bash:  source <(watchdog completion bash)          # ~/.bashrc
  zsh:   source <(watchdog completion zsh)           # ~/.zshrc, after compinit
  fish:  watchdog completion fish > ~/.config/fish/completions/watchdog.fish

bash and zsh ask the watchdog itself for the candidates (urfave/cli's
--generate-bash-completion), so they follow the binary on PATH; the fish
script lists them and is written once.`,
	Action: completionAction,
}

func completionAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return launch.Failf("watchdog completion bash", "want one shell: bash, zsh or fish")
	}
	var script string
	switch shell := c.Args().First(); shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		s, err := c.App.ToFishCompletion()
		if err != nil {
			return launch.Fail(err, "")
		}
		script = s
	default:
		return launch.Failf("watchdog completion bash", "unknown shell %s: want bash, zsh or fish", supervise.Quote(shell))
	}
	_, err := fmt.Fprint(c.App.Writer, strings.ReplaceAll(script, "%PROG%", c.App.Name))
	return err
}

// The bash and zsh scripts are urfave/cli's autocomplete scripts, with the
// program's name filled in.
const bashCompletion = `# bash completion for %PROG% (watchdog completion bash)
_%PROG%_bash_autocomplete() {
  if [[ "${COMP_WORDS[0]}" != "source" ]]; then
    local cur opts words cword requestComp
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
    if [[ "$cur" == "-"* ]]; then
      requestComp="${words[*]} ${cur} --generate-bash-completion"
    else
      requestComp="${words[*]} --generate-bash-completion"
    fi
    opts=$(eval "${requestComp}" 2>/dev/null)
    COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
    return 0
  fi
}
complete -o bashdefault -o default -o nospace -F _%PROG%_bash_autocomplete %PROG%
`

const zshCompletion = `#compdef %PROG%
# zsh completion for %PROG% (watchdog completion zsh)
_%PROG%_zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _%PROG%_zsh_autocomplete %PROG%
`
