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

  vigil eval hr [--json] [--fs HZ] [--settle D] FILE
      The heart rate Vigil displays for one ECG lead once it has settled (20 s by
      default): FILE is one value in mV per line at --fs Hz (the AAMI EC13 test
      waveforms), or a WFDB record (its first ECG lead, or --lead). Prints the rate
      at the end and its range after settling; --json: {"hr_bpm": ...}.

  vigil eval alarms [--json] [--at D] [--window D] PATH...
      For each PhysioNet/CinC 2015 record (a header whose comments name the alarm
      type and "True alarm" or "False alarm"), whether Vigil's own analysis raises
      that alarm type in the window ending at the bedside alarm (--at 300s, --window
      16s), using only the data up to it. Prints TP, FP, TN, FN, TPR, TNR and the
      challenge score (TP+TN)/(TP+TN+FP+5·FN).

Flags of qrs:
  --json           print JSON: records[], gross{tp,fn,fp,se,ppv}, average{se,ppv}
  --from D         skip this much of each record (default 5m, the EC57 learning period)
  --window D       match window (default 150ms)
  --ref EXT        reference annotator (default atr)
  --test EXT       score this annotator's file instead of Vigil's detector (e.g. qrs)
  --lead NAME      analyse this signal (default: the record's first ECG lead, MLII or II preferred)
`

type evalFlags struct {
	json      bool
	at        time.Duration
	fs        float64
	settle    time.Duration
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
			return cfg, errors.New("say what to evaluate (qrs, hr or alarms)")
		}
		return cfg, ErrHelp
	}
	if args[0] != "qrs" && args[0] != "hr" && args[0] != "alarms" {
		fmt.Fprint(stderr, evalUsage)
		return cfg, fmt.Errorf("unknown evaluation %q (qrs, hr, alarms)", args[0])
	}
	cfg.Args = []string{args[0]}
	e := &cfg.eval
	fs := flag.NewFlagSet("vigil eval "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, evalUsage) }
	fs.BoolVar(&e.json, "json", false, "print JSON")
	fs.DurationVar(&e.from, "from", 5*time.Minute, "skip this much of each record")
	window := 150 * time.Millisecond
	if args[0] == "alarms" {
		window = 16 * time.Second
	}
	fs.DurationVar(&e.window, "window", window, "match window (qrs); alarm window (alarms)")
	fs.DurationVar(&e.at, "at", 300*time.Second, "time of the bedside alarm (alarms)")
	fs.StringVar(&e.ref, "ref", "atr", "reference annotator")
	fs.StringVar(&e.test, "test", "", "score this annotator instead of the detector")
	fs.StringVar(&e.lead, "lead", "", "signal to analyse")
	fs.Float64Var(&e.fs, "fs", 0, "sampling rate of a one-column file (hr)")
	fs.DurationVar(&e.settle, "settle", 20*time.Second, "time the rate is given to settle (hr)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return cfg, err
	}
	if len(pos) == 0 {
		return cfg, fmt.Errorf("vigil eval %s: name what to read", args[0])
	}
	if args[0] == "hr" && len(pos) != 1 {
		return cfg, errors.New("vigil eval hr: name one file")
	}
	if e.fs < 0 || e.fs > 0 && (e.fs < 50 || e.fs > 10000) {
		return cfg, fmt.Errorf("vigil eval hr: --fs %g: want a rate between 50 and 10000 Hz", e.fs)
	}
	if e.from < 0 || e.window <= 0 {
		return cfg, errors.New("vigil eval qrs: --from must be ≥ 0 and --window > 0")
	}
	cfg.Args = append(cfg.Args, pos...)
	return cfg, nil
}

// evalRecords expands the paths into record paths (without extension): a
// folder gives every record in it that has a reference annotation file
// (every record when ref is "").
func evalRecords(paths []string, ref string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err == nil && st.IsDir() {
			heads, _ := filepath.Glob(filepath.Join(p, "*.hea"))
			var recs []string
			for _, h := range heads {
				r := strings.TrimSuffix(h, ".hea")
				if _, err := os.Stat(r + "." + ref); ref == "" || err == nil {
					recs = append(recs, r)
				}
			}
			if len(recs) == 0 && ref != "" {
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
	switch cfg.Args[0] {
	case "hr":
		return runEvalHR(cfg.Args[1], e, stdout)
	case "alarms":
		return runEvalAlarms(ctx, cfg.Args[1:], e, stdout)
	}
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
	fmt.Fprintln(tw, "Record\tTP\tFN\tFP\tSe %\t+P %\tVEB Se %\tVEB +P %\t")
	pc := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", v)
	}
	for _, s := range scores {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%.2f\t%s\t%s\t\n", s.Record, s.TP, s.FN, s.FP, s.Se, s.PPV, pc(s.VSe), pc(s.VPPV))
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

// runEvalHR meters the heart rate of one lead.
func runEvalHR(path string, e evalFlags, stdout io.Writer) error {
	var x []float64
	fs := e.fs
	if rec, err := wfdb.Read(strings.TrimSuffix(path, ".hea")); err == nil {
		sig, err := ecg.PickLead(rec.Header, e.lead)
		if err != nil {
			return err
		}
		x, fs = rec.Physical(sig), rec.Rate(sig)
	} else if _, serr := os.Stat(strings.TrimSuffix(path, ".hea") + ".hea"); serr == nil {
		return err // a record that does not read
	} else {
		if fs == 0 {
			return fmt.Errorf("%s: a one-column file needs its rate: --fs HZ", path)
		}
		if x, err = wfdb.ReadColumn(path); err != nil {
			return err
		}
	}
	r := ecg.MeterHR(x, fs, e.settle.Seconds())
	if e.json {
		return json.NewEncoder(stdout).Encode(r)
	}
	_, err := fmt.Fprintf(stdout, "%.1f bpm (%.1f–%.1f after %s; %d beats in %.1f s)\n", r.Final, r.Min, r.Max, e.settle, r.Beats, r.Duration)
	return err
}

// challengeTypes maps the PhysioNet/CinC 2015 alarm names to conditions.
var challengeTypes = map[string]ecg.Condition{
	"Asystole": ecg.Asystole, "Bradycardia": ecg.ExtremeBrady, "Tachycardia": ecg.ExtremeTachy,
	"Ventricular_Tachycardia": ecg.VTach, "Ventricular_Flutter_Fib": ecg.VFib,
}

type alarmResult struct {
	Record  string  `json:"record"`
	Alarm   string  `json:"alarm"`
	Truth   bool    `json:"true_alarm"`
	Raised  bool    `json:"raised"`
	Outcome string  `json:"outcome"` // TP, FP, TN, FN
	Lead    string  `json:"lead,omitempty"`
	RateBPM float64 `json:"rate_bpm,omitempty"`
	// HeldBack says why the analysis saw the condition and did not raise
	// it: "pulse" (no QRS while the pulse goes on) or "disorganised" (a
	// run whose complexes neither look alike nor repeat).
	HeldBack string  `json:"held_back,omitempty"`
	PulseBPM float64 `json:"pulse_bpm,omitempty"`
	// Like and Periodic are how organised the ventricular run was (VT only).
	Like     float64 `json:"like,omitempty"`
	Periodic float64 `json:"periodic,omitempty"`
	Noisy    bool    `json:"ecg_noisy,omitempty"` // the ECG was reported noisy in the window
}

// challengeLabel reads the alarm type and truth from a header's comments.
func challengeLabel(h *wfdb.Header) (string, ecg.Condition, bool, error) {
	var name string
	var cond ecg.Condition
	truth, seen := false, false
	for _, c := range h.Comments {
		c = strings.TrimSpace(c)
		if k, ok := challengeTypes[c]; ok {
			name, cond = c, k
		}
		switch strings.ToLower(c) {
		case "true alarm":
			truth, seen = true, true
		case "false alarm":
			truth, seen = false, true
		}
	}
	if cond == 0 || !seen {
		return "", 0, false, fmt.Errorf("record %s: its header does not name the alarm type and whether it was true", h.Record)
	}
	return name, cond, truth, nil
}

func runEvalAlarms(ctx context.Context, paths []string, e evalFlags, stdout io.Writer) error {
	recs, err := evalRecords(paths, "")
	if err != nil {
		return err
	}
	var res []alarmResult
	var tp, fp, tn, fn int
	for _, path := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := wfdb.Read(path)
		if err != nil {
			return err
		}
		name, cond, truth, err := challengeLabel(rec.Header)
		if err != nil {
			return err
		}
		raised, held, why, err := ecg.RecordAlarms(rec, e.at.Seconds(), e.window.Seconds())
		if err != nil {
			return err
		}
		r := alarmResult{Record: rec.Record, Alarm: name, Truth: truth, Raised: raised&cond != 0, Noisy: raised&ecg.Noisy != 0}
		if ev, ok := why[cond]; ok {
			if ev.Lead >= 0 {
				r.Lead = rec.Signals[ev.Lead].Description
			}
			r.RateBPM, r.PulseBPM, r.Like, r.Periodic = ev.RateBPM, ev.PulseBPM, ev.Like, ev.Periodic
		}
		if held&cond != 0 {
			r.HeldBack = "pulse"
			if cond == ecg.VTach {
				r.HeldBack = "disorganised"
			}
		}
		switch {
		case r.Raised && truth:
			r.Outcome, tp = "TP", tp+1
		case r.Raised:
			r.Outcome, fp = "FP", fp+1
		case truth:
			r.Outcome, fn = "FN", fn+1
		default:
			r.Outcome, tn = "TN", tn+1
		}
		res = append(res, r)
	}
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	score := 0.0
	if d := tp + tn + fp + 5*fn; d > 0 {
		score = 100 * float64(tp+tn) / float64(d)
	}
	if e.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"records": res, "tp": tp, "fp": fp, "tn": tn, "fn": fn,
			"tpr": ratio(tp, tp+fn), "tnr": ratio(tn, tn+fp), "score": score})
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Record\tAlarm\tTruth\tVigil\tOutcome\tEvidence")
	for _, r := range res {
		truth, vigil := "false", "not raised"
		if r.Truth {
			truth = "true"
		}
		if r.Raised {
			vigil = "raised"
		}
		ev := ""
		if r.Raised && r.RateBPM > 0 {
			ev = fmt.Sprintf("%s, %.0f bpm", r.Lead, r.RateBPM)
			if r.PulseBPM > 0 {
				ev += fmt.Sprintf(", pulse %.0f/min", r.PulseBPM)
			}
		}
		switch r.HeldBack {
		case "pulse":
			ev = fmt.Sprintf("held back: pulse at %.0f/min", r.PulseBPM)
		case "disorganised":
			ev = fmt.Sprintf("held back: %s, %.0f bpm, complexes alike %.2f, periodic %.2f", r.Lead, r.RateBPM, r.Like, r.Periodic)
		}
		if r.Noisy {
			ev += " · ECG noisy"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Record, r.Alarm, truth, vigil, r.Outcome, ev)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "TP %d  FP %d  TN %d  FN %d  TPR %.1f %%  TNR %.1f %%  score %.1f %% (%d records, window %s before %s)\n",
		tp, fp, tn, fn, ratio(tp, tp+fn), ratio(tn, tn+fp), score, len(res), e.window, e.at)
	return err
}
