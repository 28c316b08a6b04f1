package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/backend/store"
)

func newBackupCmd(o *options) *cobra.Command {
	var data string
	var force, verify bool
	cmd := &cobra.Command{
		Use:   "backup <file>",
		Short: "Copy the database into a file, while the server runs or not",
		Long: `Copy the server's SQLite database (<data>/` + store.FileName + `) into <file> with
SQLite's online backup API. The server may go on running and writing: the
copy is the database as it was when the backup began (jobs stored after that
are not in it). It works on the file, not through the API: run it on the server's
machine, as a user that may open the database (the server's user).

The copy is written under a temporary name beside <file>, checked with
PRAGMA integrity_check (--verify=false skips that) and then put in place; an
existing <file> is refused unless --force. A progress bar goes to stderr
(--progress). To restore, stop the server, copy the file over
<data>/` + store.FileName + `, remove <data>/` + store.FileName + `-wal and -shm, and start it
(docs/operations.md).`,
		Example: `  switchyard backup --data ./data backups/switchyard-$(date +%F).db
  SWITCHYARD_DATA=/srv/switchyard switchyard backup --force /backups/latest.db`,
		Args:        argsNamed("file"),
		Annotations: map[string]string{localAnnotation: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			bar, err := o.bar()
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("data") {
				if v := strings.TrimSpace(os.Getenv(envName("data"))); v != "" { // as serve reads it
					data = v
				}
			}
			return backup(cmd, o, filepath.Join(data, store.FileName), args[0], store.BackupOptions{Force: force, Verify: verify}, bar)
		},
	}
	cmd.Flags().StringVar(&data, "data", "./data", "data directory holding the SQLite file ("+envName("data")+")")
	cmd.Flags().BoolVar(&force, "force", false, "replace <file> if it exists")
	cmd.Flags().BoolVar(&verify, "verify", true, "run PRAGMA integrity_check on the copy before putting it in place")
	progressFlag(cmd, o)
	return cmd
}

func backup(cmd *cobra.Command, o *options, src, dest string, opts store.BackupOptions, bar bool) error {
	if _, err := os.Stat(src); err != nil {
		return usagef("no database at %s (--data names the server's data directory): %v", src, err)
	}
	var pb *progressbar.ProgressBar
	if bar {
		opts.Progress = func(done, total int) {
			if pb == nil {
				pb = progressbar.NewOptions(total,
					progressbar.OptionSetWriter(o.stderr),
					progressbar.OptionSetWidth(30),
					progressbar.OptionSetDescription("backup"),
					progressbar.OptionShowCount(),
					progressbar.OptionSetItsString("pages"),
					progressbar.OptionSetElapsedTime(true),
					progressbar.OptionClearOnFinish(),
					progressbar.OptionSetRenderBlankState(true),
				)
			}
			_ = pb.Set(done)
		}
	}
	began := time.Now().UTC()
	res, err := store.Backup(cmd.Context(), src, dest, opts)
	if pb != nil {
		_ = pb.Finish()
	}
	if errors.Is(err, store.ErrBackupExists) {
		return &usageError{err}
	}
	if err != nil {
		return &exitError{ExitFailed, fmt.Errorf("backup of %s: %w", src, err)}
	}
	if o.json() {
		return printValue(o.stdout, map[string]any{
			"source": src, "file": dest, "bytes": res.Bytes(), "pages": res.Pages, "verified": res.Verified,
			"as_of": began.Format(time.RFC3339Nano), "seconds": res.Took.Seconds(),
		})
	}
	check := "integrity_check ok"
	if !res.Verified {
		check = "not verified"
	}
	fmt.Fprintf(o.stdout, "backed up %s to %s: %.1f MB (%d pages), as of %s, %s, in %s\n",
		src, dest, float64(res.Bytes())/1e6, res.Pages, began.Format(time.RFC3339), check, res.Took.Round(time.Millisecond))
	return nil
}
