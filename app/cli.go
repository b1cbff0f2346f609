package app

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/alarms/peers"
	"github.com/vigil-station/vigil/app/store"
)

const usersUsage = `Usage: vigil users <command> [--data DIR] ...

  add NAME --role nurse|charge|admin [--display "Full Name"] [--pin]
        create an account; the password is read from stdin (first line),
        with --pin the PIN from the second line
  list  the accounts, their roles and whether they are disabled or locked out
  disable NAME | enable NAME
  reset NAME [--pin]
        a new password (and PIN) from stdin; clears a lockout

Secrets are read from stdin, never from arguments (they would show in the
process list and the shell history). Changes are journalled as done by
it:<your login name> at this host.
`

const journalUsage = `Usage: vigil journal <command> [--data DIR] [--journal-key FILE] ...

  verify [--peer DIR]... [--broker URL --ward W [--user U]]
           check the journal's integrity, its keyed hash chain and its end
           against the checkpoint beside the key; with --peer, also against
           the checkpoints another station of the ward kept of this one (its
           --data directory, read only); with --broker, against the one the
           broker retains (password from $VIGIL_MQTT_PASSWORD) (exit 1 if
           broken)
  export [--from T] [--to T] [--format csv|json] [--out FILE]
           the rows with from <= time < to (RFC 3339 or YYYY-MM-DD, UTC;
           default: everything) for the hospital's records
`

const stationsUsage = `Usage: vigil stations <command> [--data DIR] [--trust FILE] [--demo] ...

  id    this station's name, public key and fingerprint (made if none yet)
  list  the ward's trusted stations with their fingerprints
  enrol NAME ed25519:KEY
        trust station NAME with its public key (from "vigil stations id" at
        that station: compare the fingerprint with its screen or log)
  revoke NAME
        refuse everything station NAME signs from now on

The trust list is a file (default trusted-stations in the data directory):
give every station of a ward the same list. Running stations read it again
within 5 s. Changes are journalled as done by it:<your login name>.
`

// parseAdmin reads "vigil users ...", "vigil journal ..." and "vigil stations ...".
func parseAdmin(cfg Config, cmd Command, args []string, stderr io.Writer) (Config, error) {
	cfg.Command = cmd
	usage := map[Command]string{CmdUsers: usersUsage, CmdJournal: journalUsage, CmdStations: stationsUsage}[cmd]
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return cfg, errors.New("say which command")
		}
		return cfg, ErrHelp
	}
	cfg.Args = []string{args[0]}
	fs := flag.NewFlagSet("vigil "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&cfg.DataDir, "data", "", "the station's data directory (default: the user data directory)")
	a := &cfg.admin
	fs.StringVar(&a.journalKey, "journal-key", "", "the journal key file, outside the data directory (default $VIGIL_JOURNAL_KEY, else ~/.config/vigil/journal.key)")
	switch cmd {
	case CmdUsers:
		fs.StringVar(&a.role, "role", "", "nurse, charge or admin")
		fs.StringVar(&a.display, "display", "", "the name shown at the station")
		fs.BoolVar(&a.pin, "pin", false, "also read a PIN (6-12 digits; nurses and charge nurses) from stdin")
	case CmdStations:
		fs.StringVar(&cfg.TrustFile, "trust", "", "the ward's trust list (default: trusted-stations in the data directory)")
		fs.StringVar(&cfg.Station, "station", "", "this station's id (default: the host name)")
		fs.BoolVar(&a.demo, "demo", false, "the demo ward's key and list (the built-in broker's)")
	case CmdJournal:
		fs.StringVar(&a.from, "from", "", "first time (RFC 3339 or YYYY-MM-DD)")
		fs.StringVar(&a.to, "to", "", "end time, exclusive")
		fs.StringVar(&a.format, "format", "csv", "csv or json")
		fs.StringVar(&a.out, "out", "", "file to write (default stdout)")
		fs.Var(&a.peers, "peer", "verify: another station's data directory, whose kept checkpoints of this station are compared (repeatable)")
		fs.StringVar(&a.broker, "broker", "", "verify: the ward's broker, whose retained checkpoint of this station is compared")
		fs.StringVar(&cfg.Ward, "ward", "", "verify --broker: the ward")
		fs.StringVar(&cfg.Username, "user", os.Getenv("VIGIL_MQTT_USER"), "verify --broker: MQTT user name (or $VIGIL_MQTT_USER)")
		fs.StringVar(&cfg.TLS.CAFile, "tls-ca", "", "verify --broker: PEM file of the CA that signed the broker's certificate")
		cfg.Password = os.Getenv("VIGIL_MQTT_PASSWORD")
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return cfg, err
	}
	cfg.Args = append(cfg.Args, pos...)
	return cfg, nil
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) > 0 {
			pos, args = append(pos, args[0]), args[1:]
		}
	}
	return pos, nil
}

// adminFlags are the flags of vigil users and vigil journal.
type adminFlags struct {
	role, display         string
	pin, demo             bool
	from, to, format, out string
	journalKey            string
	peers                 multiFlag // journal verify --peer
	broker                string    // journal verify --broker
}

func itActor() alarms.Actor {
	who := "it"
	if u, err := user.Current(); err == nil {
		who = "it:" + u.Username
	}
	host, _ := os.Hostname()
	return alarms.Actor{Who: who, Where: cmp.Or(host, "cli"), Role: alarms.Admin}
}

func openForAdmin(ctx context.Context, cfg Config, mustExist bool) (*store.Store, error) {
	dir, err := cfg.dataDir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, store.JournalFile)); mustExist && err != nil {
		return nil, fmt.Errorf("no journal in %s (give the station's --data directory)", dir)
	}
	host, _ := os.Hostname()
	return store.Open(ctx, dir, store.Options{Station: "cli@" + cmp.Or(host, "host"), KeyFile: cfg.admin.journalKey})
}

func readSecrets(in io.Reader, n int) ([]string, error) {
	sc := bufio.NewScanner(in)
	var out []string
	for len(out) < n && sc.Scan() {
		out = append(out, strings.TrimRight(sc.Text(), "\r"))
	}
	if len(out) < n {
		return nil, fmt.Errorf("expected %d line(s) on stdin (password%s)", n, map[bool]string{true: ", then PIN", false: ""}[n == 2])
	}
	return out, sc.Err()
}

func runUsers(ctx context.Context, cfg Config, stdin io.Reader, stdout io.Writer) error {
	s, err := openForAdmin(ctx, cfg, cfg.Args[0] != "add")
	if err != nil {
		return err
	}
	defer s.Close()
	by := itActor()
	name := ""
	if len(cfg.Args) > 1 {
		name = cfg.Args[1]
	}
	needName := func() error {
		if name == "" {
			return fmt.Errorf("vigil users %s NAME", cfg.Args[0])
		}
		return nil
	}
	nSecrets := 1
	if cfg.admin.pin {
		nSecrets = 2
	}
	switch cfg.Args[0] {
	case "add":
		if err := needName(); err != nil {
			return err
		}
		role, err := alarms.ParseRole(cfg.admin.role)
		if err != nil {
			return fmt.Errorf("--role: %w", err)
		}
		sec, err := readSecrets(stdin, nSecrets)
		if err != nil {
			return err
		}
		u := store.NewUser{Name: name, Display: cfg.admin.display, Role: role, Password: sec[0]}
		if len(sec) > 1 {
			u.PIN = sec[1]
		}
		if err := s.AddUser(ctx, by, u); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s added (%s)\n", name, role)
	case "list":
		us, err := s.Users(ctx)
		if err != nil {
			return err
		}
		weak, err := s.WeakSecrets(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDISPLAY\tROLE\tPIN\tSTATUS\tCREATED")
		for _, u := range us {
			status := "active"
			switch {
			case u.Disabled:
				status = "disabled"
			case time.Now().Before(u.Locked):
				status = "locked out until " + u.Locked.Format("15:04")
			}
			if w := weak[u.Name]; w != "" {
				status += "; " + w + ": reset it"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\n", u.Name, u.Display, u.Role, u.HasPIN, status, u.Created.Format("2006-01-02"))
		}
		return tw.Flush()
	case "disable", "enable":
		if err := needName(); err != nil {
			return err
		}
		if err := s.SetDisabled(ctx, by, name, cfg.Args[0] == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s %sd\n", name, cfg.Args[0])
	case "reset":
		if err := needName(); err != nil {
			return err
		}
		sec, err := readSecrets(stdin, nSecrets)
		if err != nil {
			return err
		}
		pin := ""
		if len(sec) > 1 {
			pin = sec[1]
		}
		if err := s.Reset(ctx, by, name, sec[0], pin); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s reset\n", name)
	default:
		return fmt.Errorf("vigil users %s: say add, list, disable, enable or reset", cfg.Args[0])
	}
	return nil
}

func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return t, fmt.Errorf("time %q: use RFC 3339 (2026-11-24T08:00:00Z) or YYYY-MM-DD", s)
	}
	return t, nil
}

// ErrJournalBroken is returned by vigil journal verify for a broken journal.
var ErrJournalBroken = errors.New("the journal does not verify")

// findJournal is the journal a station started with --data DIR keeps:
// DIR/journal.db (a ward's), else DIR/demo/journal.db (the demo's); which
// says which one it is.
func findJournal(dir string) (journalDir, which string, err error) {
	if _, err := os.Stat(filepath.Join(dir, store.JournalFile)); err == nil {
		return dir, "the station's journal", nil
	}
	demo := filepath.Join(dir, "demo")
	if _, err := os.Stat(filepath.Join(demo, store.JournalFile)); err == nil {
		return demo, "the demo's journal (no " + store.JournalFile + " in " + dir + ")", nil
	}
	return "", "", fmt.Errorf("no journal in %s nor in %s (give the station's --data directory)", dir, demo)
}

func runJournal(ctx context.Context, cfg Config, stdout io.Writer) error {
	dir, err := cfg.dataDir()
	if err != nil {
		return err
	}
	jdir, which, err := findJournal(dir)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	s, err := store.Open(ctx, jdir, store.Options{Station: "cli@" + cmp.Or(host, "host"), KeyFile: cfg.admin.journalKey})
	if err != nil {
		return err
	}
	defer s.Close()
	switch cfg.Args[0] {
	case "verify":
		fmt.Fprintf(stdout, "using %s\n", which)
		v, err := s.VerifyChain(ctx, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "journal %s\nrows: %d (last seq %d; keyed with HMAC-SHA256 from seq %d)\nkey: %s (%s)\nintegrity: %s\n",
			s.File(), v.Rows, v.LastSeq, v.HMACFrom, s.KeyFile(), v.Key, v.Integrity)
		if cp := v.Checkpoint; cp != nil {
			fmt.Fprintf(stdout, "checkpoint: seq %d at %s (%s)\n", cp.Seq, cp.At, s.CheckpointFile())
		}
		for _, n := range v.Notes {
			fmt.Fprintln(stdout, "note:", n)
		}
		// What the open found is said too (it is what the station saw).
		problems := v.Problems
		for _, p := range s.OpenCheck().Problems {
			if !slices.Contains(problems, p) {
				problems = append(problems, p)
			}
		}
		ward, err := wardCopies(ctx, cfg, s, jdir, stdout)
		if err != nil {
			return err
		}
		problems = append(problems, ward...)
		for _, p := range problems {
			fmt.Fprintln(stdout, "problem:", p)
		}
		if !v.OK() || len(problems) > 0 {
			fmt.Fprintln(stdout, "hash chain: BROKEN")
			return ErrJournalBroken
		}
		fmt.Fprintln(stdout, "hash chain: ok")
	case "export":
		from, err := parseWhen(cfg.admin.from)
		if err != nil {
			return err
		}
		to, err := parseWhen(cfg.admin.to)
		if err != nil {
			return err
		}
		w := stdout
		if cfg.admin.out != "" {
			f, err := os.Create(cfg.admin.out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		bw := bufio.NewWriter(w)
		n, err := s.Export(ctx, bw, from, to, cfg.admin.format)
		if err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if cfg.admin.out != "" {
			fmt.Fprintf(stdout, "%d rows of %s (%s) written to %s\n", n, s.File(), which, cfg.admin.out)
		}
	default:
		return fmt.Errorf("vigil journal %s: say verify or export", cfg.Args[0])
	}
	return nil
}

// runStations manages the ward's trusted stations (docs/deployment.md).
func runStations(ctx context.Context, cfg Config, stdout io.Writer) error {
	dir, err := cfg.dataDir()
	if err != nil {
		return err
	}
	if !cfg.admin.demo {
		cfg.Broker = "external" // not the demo: the station's own directory
	}
	dir = cfg.journalDir(dir)
	trust, err := peers.LoadTrust(cfg.trustFile(dir))
	if err != nil {
		return err
	}
	arg := func(i int, what string) (string, error) {
		if len(cfg.Args) <= i {
			return "", fmt.Errorf("vigil stations %s %s", cfg.Args[0], what)
		}
		return cfg.Args[i], nil
	}
	journal := func(event, name, detail string) error {
		s, err := openForAdmin(ctx, cfg, false)
		if err != nil {
			return err
		}
		defer s.Close()
		by := itActor()
		if err := <-s.Append(store.Event{Kind: store.KindConfig, Event: event, Who: by.Who, Role: by.Role.String(),
			Station: by.Where, Detail: "station " + name + ": " + detail}); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		return nil
	}
	switch cfg.Args[0] {
	case "id":
		id, created, err := peers.LoadOrCreateIdentity(filepath.Join(dir, StationKeyFile), cfg.stationID())
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintln(stdout, "(a new key was made)")
		}
		fmt.Fprintf(stdout, "station     %s\npublic key  %s\nfingerprint %s\n", id.Name, id.PublicKey(), peers.Fingerprint(id.Pub))
		fmt.Fprintf(stdout, "enrol it at the other stations with:\n  vigil stations enrol %s %s\n", id.Name, id.PublicKey())
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STATION\tFINGERPRINT\tSTATUS")
		for _, e := range trust.Entries() {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, peers.Fingerprint(e.Key), map[bool]string{true: "revoked", false: "trusted"}[e.Revoked])
		}
		return tw.Flush()
	case "enrol", "enroll":
		name, err := arg(1, "NAME ed25519:KEY")
		if err != nil {
			return err
		}
		k, err := arg(2, "NAME ed25519:KEY")
		if err != nil {
			return err
		}
		key, err := peers.ParseKey(k)
		if err != nil {
			return err
		}
		if err := trust.Enrol(name, key); err != nil {
			return err
		}
		if err := journal("station-enrolled", name, peers.Fingerprint(key)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "station %s enrolled: %s\n", name, peers.Fingerprint(key))
	case "revoke":
		name, err := arg(1, "NAME")
		if err != nil {
			return err
		}
		if err := trust.Revoke(name); err != nil {
			return err
		}
		if err := journal("station-revoked", name, "revoked"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "station %s revoked\n", name)
	default:
		return fmt.Errorf("vigil stations %s: say id, list, enrol or revoke", cfg.Args[0])
	}
	return nil
}
