package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/cli"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

// TestMain runs without the SWITCHYARD_ variables of the environment.
func TestMain(m *testing.M) {
	servertest.ClearEnv()
	os.Exit(m.Run())
}

// skipMark ends a command the test does not run (make run, a browser).
const skipMark = "not run by the docs test"

// TestGettingStartedCommandsWork runs every command of the ```sh blocks of
// docs/getting-started.md, in order, as a reader would paste them, against
// a real server with the example flows, through cli.Run. The rules the page
// keeps:
//
//   - a command is `bin/switchyard …` or `switchyard …`, optionally captured
//     as NAME=$(…), after which "$NAME" is its output; anything else must
//     end with the comment "# not run by the docs test";
//   - `cat > FILE <<'EOF'` … `EOF` writes FILE (in the test's directory);
//   - a command exits 0 unless it ends with "# exit N";
//   - a comment line "# → text" under a command is text its output holds
//     (runs of blanks count as one);
//   - the server is SWITCHYARD_SERVER, which the page's readers leave unset
//     (http://127.0.0.1:20555, where make run serves) and the test sets.
//
// After a command that starts, resumes, pauses or cancels a job, the test
// waits until the job is paused or has ended, as a person reading the
// output would before typing the next command.
func TestGettingStartedCommandsWork(t *testing.T) {
	raw, err := os.ReadFile("../../docs/getting-started.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := shBlocks(string(raw))
	if len(blocks) == 0 {
		t.Fatal("docs/getting-started.md has no ```sh block")
	}
	in := servertest.Start(t, server.Config{Examples: true})
	t.Setenv("SWITCHYARD_SERVER", in.URL)
	t.Chdir(t.TempDir())

	vars := map[string]string{}
	ran := 0
	for _, block := range blocks {
		cmds, err := parseBlock(block)
		if err != nil {
			t.Fatalf("docs/getting-started.md: %v\nin the block:\n%s", err, block)
		}
		for _, c := range cmds {
			switch {
			case c.skip:
				continue
			case c.file != "":
				if err := os.WriteFile(c.file, []byte(c.content), 0o600); err != nil {
					t.Fatal(err)
				}
				continue
			case c.prog != "bin/switchyard" && c.prog != "switchyard":
				t.Errorf("docs/getting-started.md line %q: not a switchyard command; end it with \"# %s\" if the test is not to run it", c.line, skipMark)
				continue
			}
			args, err := expand(c.words, vars)
			if err != nil {
				t.Fatalf("docs/getting-started.md line %q: %v", c.line, err)
			}
			stdout, stderr, code := runCommand(t, args)
			ran++
			if code != c.exit {
				t.Fatalf("docs/getting-started.md line %q: exit %d, the page says %d\nstdout:\n%s\nstderr:\n%s", c.line, code, c.exit, stdout, stderr)
			}
			if c.capture != "" {
				vars[c.capture] = strings.TrimSpace(stdout)
			}
			out := blanks.ReplaceAllString(stdout+"\n"+stderr, " ")
			for _, want := range c.expect {
				if !strings.Contains(out, blanks.ReplaceAllString(want, " ")) {
					t.Errorf("docs/getting-started.md line %q: the output lacks %q:\nstdout:\n%s\nstderr:\n%s", c.line, want, stdout, stderr)
				}
			}
			if id := jobOf(args, stdout); id != "" {
				settle(t, in.URL, id)
			}
		}
	}
	if ran < 10 {
		t.Errorf("ran %d commands of docs/getting-started.md; the page has more: is the parser broken?", ran)
	}
}

var blanks = regexp.MustCompile(`\s+`)

// shBlocks returns the bodies of the ```sh fenced blocks of a Markdown text.
func shBlocks(md string) []string {
	var out []string
	var cur []string
	in := false
	for _, line := range strings.Split(md, "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```sh":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			out = append(out, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, line)
		}
	}
	return out
}

// command is one command of a block.
type command struct {
	line    string   // as written (continuations joined)
	prog    string   // first word
	words   []word   // the arguments after prog
	capture string   // NAME of NAME=$(…)
	exit    int      // the exit code the page gives
	expect  []string // "# → text" lines under it
	skip    bool
	file    string // cat > file <<'EOF'
	content string
}

// word is one shell word: parts, each literal or a variable to expand.
type word []part

type part struct {
	text  string
	isVar bool
}

var (
	heredoc = regexp.MustCompile(`^cat > (\S+) <<'(\w+)'$`)
	capture = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=\$\((.*)\)$`)
	exitIs  = regexp.MustCompile(`^exit (\d+)$`)
)

// parseBlock reads the commands of one ```sh block.
func parseBlock(block string) ([]*command, error) {
	lines := strings.Split(block, "\n")
	var cmds []*command
	var last *command
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			continue
		case strings.HasPrefix(trimmed, "#"):
			if text, ok := strings.CutPrefix(trimmed, "# →"); ok {
				if last == nil {
					return nil, fmt.Errorf("%q comes before any command", trimmed)
				}
				last.expect = append(last.expect, strings.TrimSpace(text))
			}
			continue
		}
		if m := heredoc.FindStringSubmatch(trimmed); m != nil {
			var body []string
			for i++; i < len(lines) && lines[i] != m[2]; i++ {
				body = append(body, lines[i])
			}
			if i == len(lines) {
				return nil, fmt.Errorf("here-document %s has no end line %s", m[1], m[2])
			}
			cmds = append(cmds, &command{line: trimmed, file: m[1], content: strings.Join(body, "\n") + "\n"})
			last = nil
			continue
		}
		c := &command{line: trimmed}
		code, comment, err := cutComment(trimmed)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", trimmed, err)
		}
		switch comment = strings.TrimSpace(comment); {
		case comment == skipMark:
			c.skip = true
		case exitIs.MatchString(comment):
			c.exit, _ = strconv.Atoi(exitIs.FindStringSubmatch(comment)[1])
		}
		if !c.skip {
			code = strings.TrimSpace(code)
			if m := capture.FindStringSubmatch(code); m != nil {
				c.capture, code = m[1], m[2]
			}
			words, err := split(code)
			if err != nil {
				return nil, fmt.Errorf("%q: %v", trimmed, err)
			}
			if len(words) == 0 {
				return nil, fmt.Errorf("%q: no command", trimmed)
			}
			if len(words[0]) != 1 || words[0][0].isVar {
				return nil, fmt.Errorf("%q: the command must be a plain word", trimmed)
			}
			c.prog, c.words = words[0][0].text, words[1:]
		}
		cmds = append(cmds, c)
		last = c
	}
	return cmds, nil
}

// cutComment cuts a line at its first # outside quotes that starts a word.
func cutComment(s string) (code, comment string, err error) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			}
		case quote == '"':
			if c == '\\' {
				i++
			} else if c == '"' {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i], s[i+1:], nil
		}
	}
	if quote != 0 {
		return "", "", fmt.Errorf("unclosed %c", quote)
	}
	return s, "", nil
}

// split cuts a command into shell words: single and double quotes, $NAME
// and ${NAME}; anything that needs a real shell (pipes, redirections,
// globs, substitutions) is an error.
func split(s string) (words []word, err error) {
	var cur word
	inWord := false
	lit := func(b string) {
		if n := len(cur); n > 0 && !cur[n-1].isVar {
			cur[n-1].text += b
		} else {
			cur = append(cur, part{text: b})
		}
	}
	variable := func(i int) (int, error) { // s[i] == '$'
		j := i + 1
		braced := j < len(s) && s[j] == '{'
		if braced {
			j++
		}
		k := j
		for k < len(s) && (s[k] == '_' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z' || k > j && s[k] >= '0' && s[k] <= '9') {
			k++
		}
		if k == j {
			return 0, fmt.Errorf("a $ that names no variable at %d (the test knows $NAME and ${NAME})", i)
		}
		cur = append(cur, part{text: s[j:k], isVar: true})
		if braced {
			if k >= len(s) || s[k] != '}' {
				return 0, fmt.Errorf("unclosed ${ at %d", i)
			}
			k++
		}
		return k, nil
	}
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words, cur, inWord = append(words, cur), nil, false
			}
			i++
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unclosed ' at %d", i)
			}
			inWord = true
			lit(s[i+1 : i+1+end])
			i += end + 2
		case c == '"':
			inWord = true
			lit("")
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unclosed \" in %q", s)
				}
				if s[i] == '"' {
					i++
					break
				}
				switch {
				case s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`+"`", s[i+1]) >= 0:
					lit(s[i+1 : i+2])
					i += 2
				case s[i] == '$':
					if i, err = variable(i); err != nil {
						return nil, err
					}
				case s[i] == '`':
					return nil, fmt.Errorf("backquotes are not supported")
				default:
					lit(s[i : i+1])
					i++
				}
			}
		case c == '$':
			inWord = true
			if i, err = variable(i); err != nil {
				return nil, err
			}
		case strings.IndexByte("|&;<>()`\\*?", c) >= 0:
			return nil, fmt.Errorf("%q at %d: the test runs plain commands only", c, i)
		default:
			inWord = true
			lit(s[i : i+1])
			i++
		}
	}
	if inWord {
		words = append(words, cur)
	}
	return words, nil
}

// expand turns words into arguments with vars.
func expand(words []word, vars map[string]string) ([]string, error) {
	args := make([]string, 0, len(words))
	for _, w := range words {
		var b strings.Builder
		for _, p := range w {
			if !p.isVar {
				b.WriteString(p.text)
				continue
			}
			v, ok := vars[p.text]
			if !ok {
				return nil, fmt.Errorf("$%s is not set by an earlier command", p.text)
			}
			b.WriteString(v)
		}
		args = append(args, b.String())
	}
	return args, nil
}

// lockedBuffer is written by the command while the test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runCommand runs a command line through cli.Run.
func runCommand(t *testing.T, args []string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() { done <- cli.Run(args, &out, &errOut) }()
	select {
	case code = <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("switchyard %q did not end within 60 s\nstdout:\n%s\nstderr:\n%s", args, out.String(), errOut.String())
	}
	return out.String(), errOut.String(), code
}

// jobOf is the job a command started or controlled without following it
// to its end.
func jobOf(args []string, stdout string) string {
	if len(args) < 2 || args[0] != "jobs" {
		return ""
	}
	switch args[1] {
	case "start":
		for _, a := range args[2:] {
			if a == "--watch" || a == "--wait" || strings.HasPrefix(a, "--wait=") {
				return ""
			}
		}
		return strings.TrimSpace(stdout)
	case "resume", "pause", "cancel":
		if len(args) > 2 {
			return args[2]
		}
	}
	return ""
}

// settle waits until a job is paused or has ended.
func settle(t *testing.T, server, id string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(server + "/api/jobs/" + id)
		if err != nil {
			t.Fatal(err)
		}
		var job struct {
			Status string `json:"status"`
		}
		err = json.NewDecoder(resp.Body).Decode(&job)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("job %s: %v", id, err)
		}
		if job.Status != "pending" && job.Status != "running" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 15 s", id, job.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
