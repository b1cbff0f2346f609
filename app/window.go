package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/vigil-station/vigil/assets"
	"github.com/vigil-station/vigil/ui"
	"github.com/vigil-station/vigil/ui/waveform"
)

// AppID is the reverse-DNS application id (FyneApp.toml).
const AppID = "org.vigilstation.vigil"

// runWindow opens the station window on the Fyne main goroutine and returns
// when the window is closed or ctx ends.
func runWindow(ctx context.Context, cfg Config, core *Core) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := fyneapp.NewWithID(AppID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.IconPNG))
	a.Settings().SetTheme(ui.Theme{})
	w := a.NewWindow("Vigil — Ward " + cfg.Ward)
	st := ui.NewStation(core.Hub, core.Sub, nil)
	st.OnAbout = func() { ui.ShowAbout(w, Version, core.Identity()) }
	st.OnView = func(title string) { core.Log.Info("view opened", "title", title) }
	if core.Alarms != nil {
		st.SetAlarmDesk(core.Alarms)
	}
	if core.Session != nil && core.Store != nil {
		st.SetBedInfo(func(bed string) (ui.BedLabel, bool) {
			_, ok := core.BedInfo(bed)
			return core.bedLabel(bed), ok // with the MRN, and the device's patient when it is another
		})
		st.SetAdmin(adminDesk{core})
		st.SetTrends(trendDesk{core})
		st.SetLimitDesk(limitDesk{core})
		st.SetEarlyWarning(core.News)
		st.SetBurden(burdenDesk{core})
		if core.Recordings != nil {
			st.SetReview(reviewDesk{core})
		}
		st.SetSession(core.Session, w)
	}
	st.SetSoundNote(soundNote(cfg.Audio, core.soundProblem))
	st.ExportDir = filepath.Join(cfg.DataDir, "exports")
	st.OnExport = func(path string) { core.journalExport(path) }
	st.SetWaves(cfg.Waves)
	st.SetLayout(cfg.Layout)
	if cfg.Sort == "acuity" {
		st.SetSort(ui.SortAcuity)
	}
	// Arrows, Enter, A, P, Esc and the open view's keys (see ui.HandleKey).
	w.Canvas().SetOnTypedKey(st.HandleKey)
	core.SetFrameCounter(st.Frames)
	core.SetPaintCounter(waveform.PaintedFrames)
	core.SetFirstWave(waveform.FirstWave)
	open := openScreen(st, cfg.Open)
	if cfg.Open == "admin" && cfg.demo() && core.Session != nil {
		_ = core.Session.Login("demo-admin", demoAdminPassphrase)
	}
	if open != nil {
		go fyne.Do(open) // runs once the window's loop does
	}
	w.SetContent(st.Content())
	ww, wh, _ := windowSize(cfg.Window) // checked with the configuration
	w.Resize(fyne.NewSize(float32(ww), float32(wh)))
	w.SetMaster()
	w.SetOnClosed(cancel)

	go st.Run(ctx, cfg.FPS)
	go watchdog(ctx, core, st.Frames)
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
		// If the UI goroutine is wedged, Quit never runs: do not leave a
		// station that ignores its stop signal.
		time.Sleep(5 * time.Second)
		core.Log.Error("window did not close within 5 s of the stop signal; exiting")
		core.Close()
		os.Exit(1)
	}()
	w.ShowAndRun()
	return nil
}

// openScreen is the view --open asks for at start (nil: the ward).
func openScreen(st *ui.Station, v string) func() {
	screen, bed, _ := strings.Cut(v, ":")
	switch screen {
	case "login":
		return func() { st.AskLogin(nil) }
	case "admin":
		return st.ShowAdmin
	case "journal":
		return st.ShowJournal
	case "burden":
		return st.ShowBurden
	case "events":
		return func() { st.ShowEvents("") }
	case "disclosure":
		return func() { st.ShowDisclosure(bed, time.Time{}) }
	case "bed":
		return func() { st.ShowBed(bed) }
	case "trends":
		return func() { st.ShowTrends(bed) }
	}
	return nil
}

// watchdog logs when the UI stops drawing frames while the station runs.
func watchdog(ctx context.Context, core *Core, frames func() uint64) {
	tk := time.NewTicker(5 * time.Second)
	defer tk.Stop()
	last, stuck := frames(), 0
	firstLogged := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		if t := waveform.FirstWave(); !firstLogged && !t.IsZero() {
			firstLogged = true
			core.Log.Info("first waveform drawn", "ms_since_start", t.Sub(processStart).Milliseconds())
		}
		if f := frames(); f == last {
			stuck++
			if stuck == 2 {
				core.Log.Error("UI has drawn no frame for 10 s")
			}
		} else {
			last, stuck = f, 0
		}
	}
}

// soundNote is the station bar's standing note when the station makes no
// alarm sound: started with --audio off, writing WAV files, or no sound card
// (problem).
func soundNote(audio, problem string) string {
	switch {
	case problem != "":
		return "NO SOUND: sound card unavailable"
	case audio == "off" || audio == "":
		return "NO SOUND (--audio off)"
	case strings.HasPrefix(audio, "wav:"):
		return "NO SOUND: alarms to WAV files"
	}
	return ""
}
