package debian

import "testing"

func TestKernelDep(t *testing.T) {
	for _, tc := range []struct{ out, want string }{
		{"linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n", "linux-image-6.1.0-56-cloud-amd64"},
		// The generic meta package: the signed kernel, after other dependencies.
		{"linux-image-amd64\n  Depends: linux-base\n |Depends: linux-image-6.1.0-56-amd64\n  Recommends: firmware-linux\n", "linux-image-6.1.0-56-amd64"},
		{"linux-image-cloud-amd64\n", ""},
	} {
		if got := kernelDep([]byte(tc.out)); got != tc.want {
			t.Errorf("kernelDep(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
}

func TestDebName(t *testing.T) {
	if got, want := debName("linux-image-6.1.0-56-cloud-amd64", "6.1.192-2"), "linux-image-6.1.0-56-cloud-amd64_6.1.192-2_amd64.deb"; got != want {
		t.Errorf("debName = %q, want %q", got, want)
	}
	if got, want := debName("p", "1:2.3"), "p_1%3a2.3_amd64.deb"; got != want {
		t.Errorf("debName with an epoch = %q, want %q", got, want)
	}
}
