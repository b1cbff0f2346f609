package app

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// mosquitto is a real broker for the tests: Debian's mosquitto on a free
// loopback port, with a configuration of the test's choosing. It can be
// stopped and started again on the same port (outage tests).
type mosquitto struct {
	bin, dir, conf string
	port           int
	cmd            *exec.Cmd
	log            bytes.Buffer
}

// plainConf is one anonymous plain-TCP listener.
func plainConf(port int, dir string) string {
	return fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\n", port)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func mosquittoBin() (string, error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/mosquitto"); e != nil {
			return "", fmt.Errorf("mosquitto not found (make test installs it): %w", err)
		}
		bin = "/usr/sbin/mosquitto"
	}
	return bin, nil
}

// newMosquitto prepares a broker; conf writes the listener part of its
// configuration for the port (files it names go in dir, readable by the
// broker even after it drops root privileges).
func newMosquitto(conf func(port int, dir string) string) (*mosquitto, error) {
	bin, err := mosquittoBin()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vigil-mosquitto")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	m := &mosquitto{bin: bin, dir: dir, port: port, conf: filepath.Join(dir, "mosquitto.conf")}
	body := conf(port, dir) + "max_queued_messages 100000\npersistence false\n"
	if err := os.WriteFile(m.conf, []byte(body), 0o644); err != nil {
		return nil, err
	}
	return m, nil
}

// URL is the broker's plain URL (scheme tcp).
func (m *mosquitto) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", m.port) }

// Addr is host:port of the first listener.
func (m *mosquitto) Addr() string { return fmt.Sprintf("127.0.0.1:%d", m.port) }

// Start runs the broker and waits until it accepts connections.
func (m *mosquitto) Start() error {
	m.log.Reset()
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	m.cmd.Stdout, m.cmd.Stderr = &m.log, &m.log
	if err := m.cmd.Start(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", m.Addr()); err == nil {
			c.Close()
			return nil
		}
		if i > 100 {
			m.Stop()
			return fmt.Errorf("mosquitto did not listen on %s: %s", m.Addr(), m.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the broker (SIGTERM, as a service manager would) and waits.
func (m *mosquitto) Stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = m.cmd.Process.Kill()
		<-done
	}
	m.cmd = nil
}

// Close stops the broker and removes its files.
func (m *mosquitto) Close() {
	m.Stop()
	os.RemoveAll(m.dir)
}
