package main

import "testing"

// Output timeout cannot write is a failure, as coreutils' close_stdout
// makes it: --help or --version into a full stdout says "write error" and
// exits 125; a diagnostic (-v's, a failed start's) into a full stderr turns
// the exit into 125, silently; dying of a signal, timeout never gets there.
// (--version's text names the watchdog, but into /dev/full both print
// nothing.) A closed fd (>&-, 2>&-) is left out: the Go runtime reopens it
// on /dev/null with O_RDWR before main, which cannot be told apart from a
// caller's own O_RDWR /dev/null (Python's subprocess.DEVNULL, 1<>/dev/null).
var timeoutWriteErrorCases = []string{
	`--help >/dev/full`, `--he >/dev/full`, `--version >/dev/full`, `--vers 2>/dev/full >/dev/full`,
	`--help >/dev/full 2>/dev/full`, `--help >/dev/null`, `--version >/dev/null 2>/dev/full`,
	`-v .1 sleep 5 2>/dev/full`, `--preserve-status -v .1 sleep 5 2>/dev/full`, `.1 sleep 5 2>/dev/full`,
	`-v -s KILL .1 sleep 5 2>/dev/full`, `-v -k .1 .1 wd-child -ignore TERM -hang 2>/dev/full`,
	`1 /nonexistent 2>/dev/full`, `1 /etc 2>/dev/full`, `1 no-such-command-xyz 2>/dev/full`,
	`--bogus 1 true 2>/dev/full`, `1 true >/dev/full`, `1 true 2>/dev/full`, `1 sh -c 'exit 3' 2>/dev/full`,
}

func TestTimeoutDropInWriteErrors(t *testing.T) { runDifferential(t, timeoutWriteErrorCases, nil) }

// getopt names an unknown or ambiguous long option by the whole word,
// "=VALUE" and all.
var timeoutLongOptionCases = []string{
	`--bogus=3 1 true`, `--bogus= 1 true`, `--bogus 1 true`, `--ver=3 1 true`, `--=3 1 true`,
	`--verb=3 1 true`, `--kill=x 1 true`, `--sig=FOO 1 true`, `--bogus=a=b 1 true`,
}

func TestTimeoutDropInLongOptionWords(t *testing.T) { runDifferential(t, timeoutLongOptionCases, nil) }

// A bad duration or signal is quoted as coreutils' quote() does: escapes
// for control characters, backslashes and the closing quote, octal for
// what the locale cannot print ('5\351' in C, ‘5\351’ in C.UTF-8, where
// valid printable UTF-8 is shown as itself).
var timeoutQuoteCases = []string{
	`"$(printf '5\351')" true`, `-k "$(printf '5\351')" 1 true`, `-s "$(printf 'X\351')" 1 true`,
	`"$(printf "5'x")" true`, `"$(printf '5\342\200\231x')" true`, `"$(printf '5\342\200\230x')" true`,
	`"$(printf '5\tx\001\n\r\a\b\f\v')" true`, `"$(printf '5\\x')" true`, `"$(printf '5\177')" true`,
	`"$(printf '\303\251')" true`, `"$(printf '\302\240')" true`, `"$(printf '\302\205')" true`,
	`"$(printf '\342\200\250')" true`, `"$(printf '\342\200\213')" true`, `"$(printf '\357\273\277')" true`,
	`"$(printf '\356\200\200')" true`, `"$(printf '\355\240\200')" true`, `"$(printf '5\342\200')" true`,
	`"$(printf '5\342\200x')" true`, `"$(printf '\364\220\200\200')" true`, `"$(printf '\360\237\230\200')" true`,
	`"$(printf '\340\200\200')" true`, `"$(printf '\301\201')" true`, `"$(printf '\357\277\276')" true`,
	`"$(printf '\302\255 ?{}#~')" true`, `"$(printf '"$&*;<=>[^|')" true`,
}

func TestTimeoutDropInQuoteC(t *testing.T) {
	runDifferential(t, timeoutQuoteCases, []string{"LC_ALL=C"})
}

func TestTimeoutDropInQuoteUTF8(t *testing.T) {
	runDifferential(t, timeoutQuoteCases, []string{"LC_ALL=C.UTF-8"})
}

// A signal with two names is named as GNU names it (gnulib's table order:
// POLL for 29, ABRT for 6). CHLD is left out: GNU timeout never exits
// after sending it.
func TestTimeoutDropInSignalNames(t *testing.T) {
	runDifferential(t, []string{
		`-v -s IO 0.1 sleep 5`, `-v -s POLL 0.1 sleep 5`, `-v -s 29 0.1 sleep 5`,
		`-v -s IOT 0.1 sleep 5`, `-v -s 6 0.1 sleep 5`, `-v -s 16 0.1 sleep 5`,
		`-v -s RTMIN+1 0.1 sleep 5`, `-v -s 50 0.1 sleep 5`, `-v -s 64 0.1 sleep 5`,
	}, nil)
}
