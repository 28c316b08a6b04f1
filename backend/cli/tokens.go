package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	switchyard "github.com/switchyard/switchyard"
	"github.com/switchyard/switchyard/backend/auth"
	"github.com/switchyard/switchyard/backend/store"
)

// localAnnotation marks commands that work on the database, not a server.
const localAnnotation = "switchyard/local"

func newTokensCmd(o *options) *cobra.Command {
	var data string
	cmd := group(&cobra.Command{
		Use:   "tokens",
		Short: "Create, list and revoke API tokens (in the database, no server needed)",
		Long: `Create, list and revoke the API tokens of a server. These commands work on
the database under --data (the directory serve uses; SWITCHYARD_DATA, default
./data) directly: the server need not run, and a running one sees a new or
revoked token within 2 seconds.

Once a token that is not revoked exists, every request needs one: send it as
Authorization: Bearer <token> (--token, SWITCHYARD_TOKEN), or open the UI
once with ?token=<token>. Roles: viewer (read and watch), operator (also
start, pause, resume, cancel and debug jobs), admin (everything, flow
changes and job deletion included).`,
		Annotations: map[string]string{localAnnotation: "true"},
	})
	cmd.PersistentFlags().StringVar(&data, "data", "./data", "data directory holding the SQLite file (SWITCHYARD_DATA)")
	dataDir := func(c *cobra.Command) string {
		if !c.Flags().Changed("data") {
			if v := strings.TrimSpace(os.Getenv(envName("data"))); v != "" {
				return v
			}
		}
		return data
	}
	cmd.AddCommand(newTokensCreateCmd(o, dataDir), newTokensListCmd(o, dataDir), newTokensRevokeCmd(o, dataDir))
	for _, sub := range cmd.Commands() {
		sub.Annotations = map[string]string{localAnnotation: "true"}
	}
	return cmd
}

// openTokenStore opens the database under dir; unless create, it must exist.
func openTokenStore(ctx context.Context, o *options, dir string, create bool) (*store.Store, error) {
	if !create {
		if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
			return nil, fmt.Errorf("no database at %s (--data names the directory serve uses): %w",
				filepath.Join(dir, store.FileName), errors.Unwrap(err))
		}
	}
	migrations, err := fs.Sub(switchyard.Migrations, "migrations")
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return store.Open(ctx, dir, migrations, logger)
}

type tokenJSON struct {
	ID         string     `json:"token_id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Revoked    bool       `json:"revoked"`
	RevokedAt  *time.Time `json:"revoked_at"`
	Token      string     `json:"token,omitempty"` // only when created
}

func toJSON(t store.Token) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt,
		Revoked: t.Revoked(), RevokedAt: t.RevokedAt}
}

func newTokensCreateCmd(o *options, dataDir func(*cobra.Command) string) *cobra.Command {
	var name, role string
	cmd := &cobra.Command{
		Use:   "create --name NAME --role viewer|operator|admin",
		Short: "Create a token and print it (it is shown only this once)",
		Example: `  switchyard tokens create --name ci --role operator --data ./data
  export SWITCHYARD_TOKEN=$(switchyard tokens create --name me --role admin)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(name) == "" {
				return usagef("--name: name the token (who or what holds it)")
			}
			r, err := auth.ParseRole(role)
			if err != nil {
				return usagef("--role: %v", err)
			}
			dir := dataDir(cmd)
			st, err := openTokenStore(cmd.Context(), o, dir, true)
			if err != nil {
				return err
			}
			defer st.Close()
			t, token, err := auth.NewToken(strings.TrimSpace(name), r, time.Now())
			if err != nil {
				return err
			}
			if err := st.CreateToken(cmd.Context(), t); err != nil {
				return err
			}
			if o.json() {
				out := toJSON(t)
				out.Token = token
				return printValue(o.stdout, out)
			}
			fmt.Fprintln(o.stdout, token)
			fmt.Fprintf(o.stderr, "created token %s %q (%s) in %s; it is shown only now: keep it\n",
				t.ID, t.Name, t.Role, filepath.Join(dir, store.FileName))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "who or what holds the token (shown by tokens list and in refusals)")
	cmd.Flags().StringVar(&role, "role", "", "viewer, operator or admin")
	return cmd
}

func newTokensListCmd(o *options, dataDir func(*cobra.Command) string) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the tokens (revoked ones too; never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openTokenStore(cmd.Context(), o, dataDir(cmd), false)
			if err != nil {
				return err
			}
			defer st.Close()
			list, err := st.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			if o.json() {
				out := make([]tokenJSON, len(list))
				for i, t := range list {
					out[i] = toJSON(t)
				}
				return printValue(o.stdout, map[string]any{"tokens": out, "total": len(out)})
			}
			t := newTable(o.stdout, "ID", "NAME", "ROLE", "CREATED", "LAST USED", "REVOKED")
			for _, tok := range list {
				created := tok.CreatedAt
				t.row(tok.ID, tok.Name, tok.Role, when(&created), when(tok.LastUsedAt), when(tok.RevokedAt))
			}
			return t.flush()
		},
	}
}

func newTokensRevokeCmd(o *options, dataDir func(*cobra.Command) string) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke TOKEN_ID",
		Short: "Revoke a token (a running server refuses it within 2 seconds)",
		Args:  argsNamed("token_id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openTokenStore(cmd.Context(), o, dataDir(cmd), false)
			if err != nil {
				return err
			}
			defer st.Close()
			// The whole token is accepted too: its id is the part after sy_.
			id := args[0]
			if tid, _, ok := auth.Parse(id); ok {
				id = tid
			}
			t, err := st.RevokeToken(cmd.Context(), id, time.Now())
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no token %q (switchyard tokens list shows them)", id)
			}
			if err != nil {
				return err
			}
			if o.json() {
				return printValue(o.stdout, toJSON(t))
			}
			fmt.Fprintf(o.stdout, "revoked token %s %q (%s)\n", t.ID, t.Name, t.Role)
			return nil
		},
	}
}

// printTokenURLs tells the admin token serve made (listening beyond
// loopback with no token) and the UI's URLs with it, as Jupyter does.
func printTokenURLs(w io.Writer, bound, token, data string) {
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return
	}
	var hosts []string
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if name, err := os.Hostname(); err == nil && name != "" {
			hosts = append(hosts, name)
		}
		hosts = append(hosts, "127.0.0.1")
	} else {
		hosts = append(hosts, host)
	}
	fmt.Fprintln(w, "  The server listens beyond loopback and had no API token, so it made an admin token.")
	fmt.Fprintln(w, "  Open the UI with it (once: the browser keeps it in a cookie):")
	for _, h := range hosts {
		fmt.Fprintf(w, "    http://%s/?token=%s\n", net.JoinHostPort(h, port), token)
	}
	fmt.Fprintf(w, "  The command line takes it as --token or SWITCHYARD_TOKEN. It is shown only now;\n"+
		"  switchyard tokens create|list|revoke --data %s manage the tokens.\n\n", data)
}
