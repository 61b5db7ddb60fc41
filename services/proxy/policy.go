package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"tprouter/services/internal/cli"
	"tprouter/services/proxy/domains"
	"tprouter/services/proxy/intercept"
)

// policyFlags are the flags of the domain policy (-deny-file, -allow-file,
// -deny-names, -allow-names) and of what is neither HTTP nor TLS
// (-unknown). The lists are read at start, where a file that cannot be
// read is a usage error, and again on SIGHUP, where it keeps the lists in
// force: a typo in a rotated blocklist must not open or close the network.
type policyFlags struct {
	denyFiles, allowFiles strs
	denyNames, allowNames strs
	unknown               unknownFlag
}

func (p *policyFlags) register(fs *flag.FlagSet) {
	fs.Var(&p.denyFiles, "deny-file", "`file` of names to deny (dstdomain lines such as .example.com, or hosts-file lines); repeatable; re-read on SIGHUP")
	fs.Var(&p.allowFiles, "allow-file", "`file` of names to allow; repeatable; with no deny list, every other name is denied")
	fs.Var(&p.denyNames, "deny-names", "comma-separated `names` to deny, in dstdomain syntax (.example.com: the domain and every name under it)")
	fs.Var(&p.allowNames, "allow-names", "comma-separated `names` to allow, in dstdomain syntax")
	fs.Var(&p.unknown, "unknown", "`policy` for connections neither HTTP nor TLS: tunnel (relay untouched, unfiltered) or reject (close)")
}

// set reports whether any list flag was given.
func (p *policyFlags) set() bool {
	return len(p.denyFiles)+len(p.allowFiles)+len(p.denyNames)+len(p.allowNames) > 0
}

// start puts the lists in force on srv; a file it cannot read is a usage
// error naming the flag and the file.
func (p *policyFlags) start(srv *intercept.Server, lg *log.Logger) error {
	if !p.set() {
		return nil
	}
	pol, note, err := p.load()
	if err != nil {
		return cli.Usagef("%v", err)
	}
	srv.SetPolicy(pol)
	lg.Print(note)
	return nil
}

// reload reads the lists again (SIGHUP) and puts them in force for the
// requests and connections that start from now on; open connections are
// not touched. When a file cannot be read the old lists stay.
func (p *policyFlags) reload(srv *intercept.Server, lg *log.Logger) {
	if !p.set() {
		return
	}
	pol, note, err := p.load()
	if err != nil {
		lg.Printf("SIGHUP: policy: %v; keeping the old lists", err)
		return
	}
	srv.SetPolicy(pol)
	lg.Printf("SIGHUP: %s", note)
}

// load builds the policy from the flags and says what it holds: "policy:
// N deny, M allow entries (K lines skipped: first problems)".
func (p *policyFlags) load() (*domains.Policy, string, error) {
	var deny, allow domains.Builder
	var bad []string
	if err := build(&deny, "deny", p.denyFiles, p.denyNames, &bad); err != nil {
		return nil, "", err
	}
	if err := build(&allow, "allow", p.allowFiles, p.allowNames, &bad); err != nil {
		return nil, "", err
	}
	pol := &domains.Policy{Deny: deny.List(), Allow: allow.List()}
	note := fmt.Sprintf("policy: %d deny, %d allow entries", pol.Deny.Len(), pol.Allow.Len())
	dp, dn := deny.Problems()
	ap, an := allow.Problems()
	first := append(append(bad, dp...), ap...)
	if n := len(bad) + dn + an; n > 0 {
		first = first[:min(len(first), 3)]
		note += fmt.Sprintf(" (%d lines skipped: %s)", n, strings.Join(first, "; "))
	}
	return pol, note, nil
}

// build reads files and adds names into b, for the flags -<which>-file and
// -<which>-names; an inline name that is not a valid entry is skipped and
// noted in bad, a file that cannot be read is an error naming it.
func build(b *domains.Builder, which string, files, names strs, bad *[]string) error {
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("-%s-file %s: %v", which, name, err)
		}
		err = b.Read(f, name)
		f.Close()
		if err != nil {
			return fmt.Errorf("-%s-file %s: %v", which, name, err)
		}
	}
	for _, v := range names {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e == "" {
				continue
			}
			if err := b.Add(e); err != nil {
				*bad = append(*bad, fmt.Sprintf("-%s-names %q: %v", which, e, err))
			}
		}
	}
	return nil
}

// strs is a repeatable flag's values.
type strs []string

func (s *strs) String() string     { return strings.Join(*s, ",") }
func (s *strs) Set(v string) error { *s = append(*s, v); return nil }

// unknownFlag is -unknown: intercept.Server.Unknown by name.
type unknownFlag struct{ v intercept.Unknown }

func (u *unknownFlag) String() string {
	if u.v == intercept.UnknownReject {
		return "reject"
	}
	return "tunnel"
}

func (u *unknownFlag) Set(v string) error {
	switch v {
	case "tunnel":
		u.v = intercept.UnknownTunnel
	case "reject":
		u.v = intercept.UnknownReject
	default:
		return fmt.Errorf("want tunnel or reject")
	}
	return nil
}
