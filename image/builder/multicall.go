package builder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// Multicall is the file name in /bin of the one program that holds init
// and every service. /init and /bin/<name> are symbolic links to it, and
// it runs the program its argv[0]'s base name names, as u-root's busybox
// does: each service still runs as a process of its own, with its own
// user and capabilities, and only one copy of the Go runtime and of the
// packages they share is in the image.
const Multicall = "tprouter"

// multicallPkg is where the dispatcher's main package appears during the
// build. It exists only in the build's overlay, never on disk.
const multicallPkg = "build/multicall"

// buildMulticall builds the main packages pkgs into one program, out.
//
// The sources stay ordinary main packages (go build ./services/proxy
// works, and the tests build them one by one). For this build only, go
// build's -overlay replaces each of their files by a copy in which
// `package main` has become a package of its own name and `func main` is
// `func Main`, and adds a dispatcher that calls the Main its argv[0]
// names. The packages keep their import paths, so internal imports still
// resolve, stack traces name the real packages, and go's build cache
// serves everything that did not change. gen holds the copies.
func buildMulticall(root, gen, out string, pkgs []string) error {
	list, err := listMain(root, pkgs)
	if err != nil {
		return err
	}
	overlay := map[string]string{}
	var progs []program
	for _, p := range list {
		prog, err := rewritePackage(p, filepath.Join(gen, fmt.Sprint(len(progs))), overlay)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(progs, func(q program) bool { return q.Name == prog.Name }); i >= 0 {
			return fmt.Errorf("%s and %s would both be /bin/%s: rename one of the packages", progs[i].ImportPath, prog.ImportPath, prog.Name)
		}
		progs = append(progs, prog)
	}
	dispatcher := filepath.Join(gen, "main.go")
	if err := os.WriteFile(dispatcher, dispatcherSource(progs), 0o644); err != nil {
		return err
	}
	overlay[filepath.Join(root, multicallPkg, "main.go")] = dispatcher
	ov, err := json.Marshal(map[string]any{"Replace": overlay})
	if err != nil {
		return err
	}
	ovPath := filepath.Join(gen, "overlay.json")
	if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
		return err
	}
	return goBuild(root, out, "-overlay="+ovPath, "./"+multicallPkg)
}

// goPackage is what go list says about a main package.
type goPackage struct {
	ImportPath, Name, Dir string
	GoFiles, CgoFiles     []string
	// Files that say package main too but are not built: the go command
	// would still read them and find two packages in one directory.
	TestGoFiles, XTestGoFiles, IgnoredGoFiles []string
}

// listMain lists pkgs for the image's platform and checks that they are
// main packages without cgo.
func listMain(root string, pkgs []string) ([]goPackage, error) {
	args := append([]string{"list", "-json=ImportPath,Name,Dir,GoFiles,CgoFiles,TestGoFiles,XTestGoFiles,IgnoredGoFiles"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), goEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	var list []goPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		switch {
		case p.Name != "main":
			return nil, fmt.Errorf("%s is package %s, not a main package: only commands go into the image", p.ImportPath, p.Name)
		case len(p.CgoFiles) > 0:
			return nil, fmt.Errorf("%s uses cgo, and the image has no libc", p.ImportPath)
		}
		list = append(list, p)
	}
	return list, nil
}

// program is a main package turned into a package with a Main func.
type program struct {
	Name       string // its file name in /bin: the import path's base
	ImportPath string
	Package    string // its package name in the rewritten copy
}

// rewritePackage writes the rewritten copies of p's files into dir and
// adds them to overlay, which hides the files that are not built.
func rewritePackage(p goPackage, dir string, overlay map[string]string) (program, error) {
	prog := program{Name: path.Base(p.ImportPath), ImportPath: p.ImportPath, Package: identifier(path.Base(p.ImportPath))}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return prog, err
	}
	hasMain := false
	for _, name := range p.GoFiles {
		src := filepath.Join(p.Dir, name)
		b, err := os.ReadFile(src)
		if err != nil {
			return prog, err
		}
		out, found, err := rewriteMain(src, b, prog.Package)
		if err != nil {
			return prog, err
		}
		hasMain = hasMain || found
		dst := filepath.Join(dir, name)
		if err := os.WriteFile(dst, out, 0o644); err != nil {
			return prog, err
		}
		overlay[src] = dst
	}
	if !hasMain {
		return prog, fmt.Errorf("%s: no func main", p.ImportPath)
	}
	for _, name := range slices.Concat(p.TestGoFiles, p.XTestGoFiles, p.IgnoredGoFiles) {
		overlay[filepath.Join(p.Dir, name)] = ""
	}
	return prog, nil
}

// rewriteMain returns the Go file src (named name) as package pkg, with
// its func main renamed Main, and whether it had a func main. A main
// package must not refer to main otherwise (the build then fails with
// "undefined: main").
func rewriteMain(name string, src []byte, pkg string) ([]byte, bool, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, false, err
	}
	if f.Name.Name != "main" {
		return nil, false, fmt.Errorf("%s: package %s, want main", name, f.Name.Name)
	}
	f.Name.Name = pkg
	found := false
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "main" {
			fn.Name.Name = "Main"
			found = true
		}
	}
	var b bytes.Buffer
	if err := format.Node(&b, fset, f); err != nil {
		return nil, false, fmt.Errorf("%s: %w", name, err)
	}
	return b.Bytes(), found, nil
}

// identifier makes a package name of s: letters, digits and underscores,
// not starting with a digit.
func identifier(s string) string {
	r := []rune(s)
	for i, c := range r {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			r[i] = '_'
		}
	}
	if len(r) == 0 || unicode.IsDigit(r[0]) {
		r = append([]rune{'p'}, r...)
	}
	return string(r)
}

// dispatcherSource is the multicall program's main package.
func dispatcherSource(progs []program) []byte {
	var imports, table, names strings.Builder
	for _, p := range progs {
		fmt.Fprintf(&imports, "\t%scmd %q\n", p.Package, p.ImportPath)
		fmt.Fprintf(&table, "\t%q: %scmd.Main,\n", p.Name, p.Package)
		fmt.Fprintf(&names, " %s", p.Name)
	}
	src := fmt.Sprintf(dispatcherTemplate, Multicall, imports.String(), table.String(), strings.TrimSpace(names.String()))
	b, err := format.Source([]byte(src))
	if err != nil {
		panic(fmt.Sprintf("dispatcherTemplate: %v\n%s", err, src)) // the template is wrong, not the input
	}
	return b
}

// dispatcherTemplate: the file name, the imports, the table, the names.
// An unknown name exits with status 125, which init's supervisor does not
// restart (supervise.ExitDontRestart): running it again cannot help.
const dispatcherTemplate = `// Code generated by tprouter/image/builder. DO NOT EDIT.

// Command %[1]s is init and the services in one program. It runs the one
// that its argv[0]'s base name names: /init and /bin/<name> are links
// to it.
package main

import (
	"fmt"
	"os"
	"path/filepath"

%[2]s)

var programs = map[string]func(){
%[3]s}

func main() {
	name := filepath.Base(os.Args[0])
	if run, ok := programs[name]; ok {
		run()
		return
	}
	fmt.Fprintf(os.Stderr, "%%s: no such program in %[1]s, which runs the program its name says: call it through a link named one of: %[4]s\n", name)
	os.Exit(125)
}
`
