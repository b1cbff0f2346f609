package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-station/vigil/monitor/ecg"
	"github.com/vigil-station/vigil/monitor/wfdb"
)

const evalUsage = `vigil eval — score Vigil's ECG analysis on annotated recordings

  vigil eval qrs [flags] PATH...
      Beat-by-beat comparison with the reference annotations, as ANSI/AAMI EC57
      and WFDB's bxb do it: beats from --from on, a detection matches a reference
      beat within --window, beats in reference-marked ventricular flutter or
      fibrillation are not counted. PATH is a record ("mitdb/100", "100.hea") or a
      folder of records. Prints TP, FN, FP, Se and +P per record, then gross
      (pooled) and average figures.

Flags:
  --json           print JSON: records[], gross{tp,fn,fp,se,ppv}, average{se,ppv}
  --from D         skip this much of each record (default 5m, the EC57 learning period)
  --window D       match window (default 150ms)
  --ref EXT        reference annotator (default atr)
  --test EXT       score this annotator's file instead of Vigil's detector (e.g. qrs)
  --lead NAME      analyse this signal (default: the record's first ECG lead, MLII or II preferred)
`

type evalFlags struct {
	json      bool
	from      time.Duration
	window    time.Duration
	ref, test string
	lead      string
}

func parseEval(cfg Config, args []string, stderr io.Writer) (Config, error) {
	cfg.Command = CmdEval
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, evalUsage)
		if len(args) == 0 {
			return cfg, errors.New("say what to evaluate: vigil eval qrs PATH...")
		}
		return cfg, ErrHelp
	}
	if args[0] != "qrs" {
		fmt.Fprint(stderr, evalUsage)
		return cfg, fmt.Errorf("unknown evaluation %q (qrs)", args[0])
	}
	cfg.Args = []string{args[0]}
	e := &cfg.eval
	fs := flag.NewFlagSet("vigil eval "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, evalUsage) }
	fs.BoolVar(&e.json, "json", false, "print JSON")
	fs.DurationVar(&e.from, "from", 5*time.Minute, "skip this much of each record")
	fs.DurationVar(&e.window, "window", 150*time.Millisecond, "match window")
	fs.StringVar(&e.ref, "ref", "atr", "reference annotator")
	fs.StringVar(&e.test, "test", "", "score this annotator instead of the detector")
	fs.StringVar(&e.lead, "lead", "", "signal to analyse")
	rest := args[1:]
	var pos []string
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return cfg, err
		}
		rest = fs.Args()
		if len(rest) > 0 {
			pos, rest = append(pos, rest[0]), rest[1:]
		}
	}
	if len(pos) == 0 {
		return cfg, errors.New("vigil eval qrs: name at least one record or folder")
	}
	if e.from < 0 || e.window <= 0 {
		return cfg, errors.New("vigil eval qrs: --from must be ≥ 0 and --window > 0")
	}
	cfg.Args = append(cfg.Args, pos...)
	return cfg, nil
}

// evalRecords expands the paths into record paths (without extension): a
// folder gives every record in it that has a reference annotation file.
func evalRecords(paths []string, ref string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err == nil && st.IsDir() {
			heads, _ := filepath.Glob(filepath.Join(p, "*.hea"))
			var recs []string
			for _, h := range heads {
				r := strings.TrimSuffix(h, ".hea")
				if _, err := os.Stat(r + "." + ref); err == nil {
					recs = append(recs, r)
				}
			}
			if len(recs) == 0 {
				return nil, fmt.Errorf("%s: no records with .%s annotations", p, ref)
			}
			slices.Sort(recs)
			out = append(out, recs...)
			continue
		}
		out = append(out, strings.TrimSuffix(p, ".hea"))
	}
	return out, nil
}

func runEval(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	e := cfg.eval
	recs, err := evalRecords(cfg.Args[1:], e.ref)
	if err != nil {
		return err
	}
	var scores []ecg.Score
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, err := scoreRecord(r, e)
		if err != nil {
			return err
		}
		scores = append(scores, s)
	}
	total := ecg.Sum(scores)
	if e.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Records []ecg.Score `json:"records"`
			ecg.Total
		}{scores, total})
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "Record\tTP\tFN\tFP\tSe %\t+P %\t")
	for _, s := range scores {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%.2f\t\n", s.Record, s.TP, s.FN, s.FP, s.Se, s.PPV)
	}
	g := total.Gross
	fmt.Fprintf(tw, "Gross\t%d\t%d\t%d\t%.2f\t%.2f\t\n", g.TP, g.FN, g.FP, g.Se, g.PPV)
	fmt.Fprintf(tw, "Average\t\t\t\t%.2f\t%.2f\t\n", total.Average.Se, total.Average.PPV)
	if err := tw.Flush(); err != nil {
		return err
	}
	what := "Vigil's detector"
	if e.test != "" {
		what = "annotator " + e.test
	}
	fmt.Fprintf(stdout, "%d records, %s against %s, from %s, window %s\n", len(scores), what, e.ref, e.from, e.window)
	return nil
}

func scoreRecord(path string, e evalFlags) (ecg.Score, error) {
	rec, err := wfdb.Read(path)
	if err != nil {
		return ecg.Score{}, err
	}
	ref, err := wfdb.ReadAnnotations(path+"."+e.ref, rec.FrameRate)
	if err != nil {
		return ecg.Score{}, err
	}
	var test []wfdb.Annotation
	if e.test != "" {
		if test, err = wfdb.ReadAnnotations(path+"."+e.test, rec.FrameRate); err != nil {
			return ecg.Score{}, err
		}
	} else {
		sig, err := ecg.PickLead(rec.Header, e.lead)
		if err != nil {
			return ecg.Score{}, err
		}
		test = ecg.DetectRecord(rec, sig)
	}
	return ecg.Compare(rec.Record, ref, test, rec.FrameRate, e.from.Seconds(), e.window.Seconds()), nil
}
