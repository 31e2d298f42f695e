package djangocodec_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/internal/testenv"
)

// The Django interop tests run Debian's python3-django under /usr/bin/python3.

const testSecret = "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz!@#"

// django runs the interop script with cmd and arg and returns its output.
// Under CI=true a missing Django fails the test; elsewhere it is a loud skip.
func django(t *testing.T, env []string, cmd, arg string) string {
	t.Helper()
	requireDjango(t)
	c := exec.Command("/usr/bin/python3", "testdata/django_interop.py", cmd, arg)
	c.Env = append(os.Environ(), append([]string{"DJ_SECRET=" + testSecret}, env...)...)
	out, err := c.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("django %s: %v\n%s", cmd, err, stderr)
	}
	return strings.TrimSpace(string(out))
}

func requireDjango(t *testing.T) {
	t.Helper()
	testenv.Short(t, "Django (python3-django)")
	if exec.Command("/usr/bin/python3", "-c", "import django").Run() == nil {
		return
	}
	testenv.Missing(t, "Django is not installed for /usr/bin/python3; apt-get install python3-django (scripts/install-deps.sh)")
}
