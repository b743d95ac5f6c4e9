#!/usr/bin/env python3
"""Static checks of the OpenTofu code in deploy/tofu, since providers cannot be installed
everywhere we test (so `tofu validate` cannot run).

Formatting and syntax:
- with `tofu` or `terraform` on PATH: `fmt -check -recursive` over deploy/tofu and the
  `*.tfvars.example` files (fmt rejects unparsable files, so this covers syntax too);
- otherwise every file is parsed with the PyPI package python-hcl2 (installed into
  .tools/py when missing): syntax only, formatting is not checked then.

References, in every directory of .tf files (a module or an environment):
- every `var.X` is a declared variable, every `local.X` a defined local, every
  `aws_*`/`random_*` resource and `data.*` source referenced is declared;
- every `module` block's source directory exists; each argument it passes is a variable
  of that module, and every variable of that module without a default is passed;
- every `module.M.OUT` names a module block M whose source declares output OUT;
- every `file("${path.module}/...")` names a file that exists;
- every key of an environment's `environments/<env>/terraform.tfvars.example` is a variable
  of the stack in deploy/tofu, which every environment applies (and every attribute of an
  object value an attribute of that variable's object type: tofu would silently drop a
  misspelt one), and every variable without a default is set there;

wump's metrics (CloudWatch only holds what the ADOT collector's awsemf exporter declares,
deploy/otel/ecs-collector.yaml, so a misspelt name or a dimension set it does not export
gives an alarm that never fires or a widget that stays empty, and nothing else says so):
- every wump metric the OpenTofu code names (`wump.…`, `http.server.…`) is one the code
  exports (a string literal in crates/*/src) and one a `metric_name_selectors` of the
  collector selects; every selector selects a metric the code exports;
- every SEARCH of the dashboard's `searches` table and every metric row of a widget
  (`[local.ns, "name", "Environment", local.env, "dim", "value", …]`) reads a dimension set
  the collector declares for that metric;

Usage: check-hcl.py [DIR]   (DIR defaults to deploy/tofu; tests pass a broken copy)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, ".tools", "py")
META_ARGS = {"source", "version", "count", "for_each", "providers", "depends_on"}
RESOURCE_PREFIXES = ("aws_", "random_")
# A metric name as the code and the OpenTofu code write it.
METRIC_NAME = re.compile(r"(?<![\w.-])(?:wump|http\.server)\.[a-z0-9_.]*[a-z0-9_]")
# python-hcl2 and what it imports (installed with --no-deps, so listed here).
HCL2_PACKAGES = ("python-hcl2==8.1.4", "lark==1.3.1", "regex")


# ---- a small HCL scanner: enough structure for the reference checks -------------------------

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
ASSIGN = re.compile(r"[ \t]*=(?!=)")
HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)\n")


class Scanner:
    """Splits HCL into code (outside string literals, plus the inside of `${...}` template
    interpolations) and records top-level blocks with their labels and the attribute names
    directly inside them. Not a parser: syntax is checked by fmt or python-hcl2."""

    def __init__(self, text):
        self.text = text
        self.code = []  # (offset, text) pieces that may hold references
        self.blocks = []  # {"type", "labels", "attrs": {name: value_text}, "line"}
        self.top_attrs = set()  # attributes outside any block (tfvars files)

    def scan(self):
        t, i, n = self.text, 0, len(self.text)
        depth = 0
        block = None
        line_start = True
        pending_words = []  # identifiers and quoted labels since the last newline at depth 0
        while i < n:
            c = t[i]
            if c == " " or c == "\t":
                i += 1
                continue
            if c == "#" or t.startswith("//", i):
                i = t.find("\n", i)
                i = n if i < 0 else i
                continue
            if t.startswith("/*", i):
                j = t.find("*/", i + 2)
                i = n if j < 0 else j + 2
                continue
            if t.startswith("<<", i):
                m = HEREDOC.match(t, i)
                if m:
                    end = re.compile(r"^\s*" + m.group(1) + r"\s*$", re.MULTILINE)
                    body_start = m.end()
                    e = end.search(t, body_start)
                    body_end = n if e is None else e.start()
                    self._template(t[body_start:body_end], body_start)
                    i = n if e is None else e.end()
                    continue
            if c == '"':
                j, literal = self._string(i)
                if depth == 0:
                    pending_words.append(literal)
                i = j
                continue
            if c == "{":
                if depth == 0:
                    words = [w for w in pending_words if w]
                    if words:
                        block = {"type": words[0], "labels": words[1:], "attrs": {},
                                 "line": t.count("\n", 0, i) + 1, "start": i, "end": n}
                        self.blocks.append(block)
                    pending_words = []
                depth += 1
                self.code.append((i, c))
                i += 1
                continue
            if c == "}":
                depth -= 1
                if depth == 0 and block is not None:
                    block["end"] = i + 1
                    block = None
                self.code.append((i, c))
                i += 1
                continue
            if c == "\n":
                line_start = True
                if depth == 0:
                    pending_words = []
                self.code.append((i, c))
                i += 1
                continue
            m = IDENT.match(t, i)
            if m:
                word = m.group(0)
                if depth == 0:
                    pending_words.append(word)
                    if line_start and ASSIGN.match(t, m.end()):
                        self.top_attrs.add(word)
                elif depth == 1 and block is not None and line_start:
                    eq = ASSIGN.match(t, m.end())
                    if eq:
                        block["attrs"][word] = self._value_text(eq.end())
                self.code.append((i, word))
                line_start = False
                i = m.end()
                continue
            if not c.isspace():
                line_start = False
            self.code.append((i, c))
            i += 1
        return self

    def _string(self, i):
        """Scans the string literal starting at i; returns (end, literal text or None when it
        interpolates). Interpolations go to self.code."""
        t, n = self.text, len(self.text)
        j = i + 1
        literal = []
        plain = True
        while j < n and t[j] != '"':
            if t[j] == "\\":
                literal.append(t[j:j + 2])
                j += 2
                continue
            if t.startswith("${", j) or t.startswith("%{", j):
                if t.startswith("$${", j - 1) or t.startswith("%%{", j - 1):
                    j += 2
                    continue
                plain = False
                j = self._interpolation(j + 2)
                continue
            literal.append(t[j])
            j += 1
        return j + 1, ("".join(literal) if plain else None)

    def _interpolation(self, j):
        """Scans from just after `${` to its closing brace; the inside counts as code."""
        t, n = self.text, len(self.text)
        level = 1
        while j < n and level:
            if t[j] == '"':
                j, _ = self._string(j)
                continue
            if t[j] == "{":
                level += 1
            elif t[j] == "}":
                level -= 1
                if not level:
                    return j + 1
            self.code.append((j, t[j]))
            j += 1
        return j

    def _template(self, body, offset):
        for m in re.finditer(r"(?<![$%])[$%]\{([^}]*)\}", body):
            self.code.append((offset + m.start(1), m.group(1)))

    def _value_text(self, j):
        """The raw text of an attribute value, up to the end of its line (enough for
        `source = "..."` and `default = ...` presence)."""
        end = self.text.find("\n", j)
        return self.text[j:] if end < 0 else self.text[j:end]

    def line_of(self, offset):
        return self.text.count("\n", 0, offset) + 1


class Module:
    """Everything declared and referenced in one directory of .tf files."""

    def __init__(self, path):
        self.path = path
        self.variables = {}  # name -> has default
        self.outputs = set()
        self.locals = set()
        self.modules = {}  # name -> {"source", "args", "file", "line"}
        self.resources = set()  # "type.name"
        self.data = set()  # "type.name"
        self.object_attrs = {}  # variable of an object type -> its attribute names
        self.refs = []  # (file, line, kind, parts)
        self.files = sorted(f for f in os.listdir(path) if f.endswith(".tf"))
        for name in self.files:
            self._read(os.path.join(path, name))

    def _read(self, file):
        with open(file, encoding="utf-8") as f:
            text = f.read()
        s = Scanner(text).scan()
        for b in s.blocks:
            kind, labels = b["type"], b["labels"]
            if kind == "variable" and labels:
                self.variables[labels[0]] = "default" in b["attrs"]
                attrs = object_attributes(text[b["start"]:b["end"]])
                if attrs is not None:
                    self.object_attrs[labels[0]] = attrs
            elif kind == "output" and labels:
                self.outputs.add(labels[0])
            elif kind == "locals":
                self.locals.update(b["attrs"])
            elif kind == "module" and labels:
                m = re.match(r'\s*"([^"]*)"', b["attrs"].get("source", ""))
                self.modules[labels[0]] = {
                    "source": m.group(1) if m else None,
                    "args": set(b["attrs"]) - META_ARGS,
                    "file": file,
                    "line": b["line"],
                }
            elif kind == "resource" and len(labels) == 2:
                self.resources.add(".".join(labels))
            elif kind == "data" and len(labels) == 2:
                self.data.add(".".join(labels))
        self._collect_refs(file, text, s)

    def _collect_refs(self, file, text, scanner):
        # The code pieces laid back at their offsets (string literals blanked out), so a
        # match's offset gives its line.
        buf = [" "] * len(text)
        for offset, piece in scanner.code:
            for k, ch in enumerate(piece):
                if offset + k < len(buf):
                    buf[offset + k] = ch
        code = "".join(buf)
        patterns = [
            ("var", r"(?<![\w.])var\.([A-Za-z_][\w-]*)"),
            ("local", r"(?<![\w.])local\.([A-Za-z_][\w-]*)"),
            ("module", r"(?<![\w.])module\.([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w-]*))?"),
            ("data", r"(?<![\w.])data\.([a-z][\w]*)\.([A-Za-z_][\w-]*)"),
            ("resource", r"(?<![\w.])((?:%s)[\w]*)\.([A-Za-z_][\w-]*)" % "|".join(RESOURCE_PREFIXES)),
        ]
        for kind, pattern in patterns:
            for m in re.finditer(pattern, code):
                self.refs.append((file, scanner.line_of(m.start()), kind, m.groups()))
        for m in re.finditer(r'(?<![\w.])(?:file|templatefile|filebase64)\(\s*"\$\{path\.module\}/([^"$]+)"',
                             text):
            self.refs.append((file, text.count("\n", 0, m.start()) + 1, "file", (m.group(1),)))


def object_attributes(variable_text):
    """Attribute names of a variable's `type = object({...})`, or None for other types.
    Nested object types add their names too (a superset is enough to catch typos)."""
    m = re.search(r"\btype\s*=\s*object\(\{", variable_text)
    if not m:
        return None
    level, i = 1, m.end()
    while i < len(variable_text) and level:
        level += {"{": 1, "}": -1}.get(variable_text[i], 0)
        i += 1
    body = variable_text[m.end():i - 1]
    return set(re.findall(r"^\s*([A-Za-z_][\w-]*)\s*=", body, re.MULTILINE))


def module_dirs(base):
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if any(f.endswith(".tf") for f in filenames):
            yield dirpath


def check_references(base, errors):
    modules = {os.path.realpath(d): Module(d) for d in module_dirs(base)}
    if not modules:
        errors.append(f"{rel(base)}: no .tf files")
    for path, mod in sorted(modules.items()):
        for name, call in sorted(mod.modules.items()):
            where = f"{rel(call['file'])}:{call['line']}: module {name!r}"
            src = call["source"]
            if src is None:
                errors.append(f"{where} has no literal source")
                continue
            if not src.startswith(("./", "../")):
                continue  # a registry or git source: nothing local to check
            target_dir = os.path.realpath(os.path.join(path, src))
            target = modules.get(target_dir)
            if target is None:
                errors.append(f"{where}: source {src!r} is not a directory of .tf files")
                continue
            call["target"] = target
            for arg in sorted(call["args"] - set(target.variables)):
                errors.append(f"{where} passes {arg!r}, which {rel(target_dir)} does not declare")
            for var, has_default in sorted(target.variables.items()):
                if not has_default and var not in call["args"]:
                    errors.append(f"{where} does not pass required variable {var!r} of {rel(target_dir)}")
        for file, line, kind, parts in mod.refs:
            where = f"{rel(file)}:{line}"
            if kind == "var" and parts[0] not in mod.variables:
                errors.append(f"{where}: var.{parts[0]} is not declared in {rel(path)}")
            elif kind == "local" and parts[0] not in mod.locals:
                errors.append(f"{where}: local.{parts[0]} is not defined in {rel(path)}")
            elif kind == "module":
                name, out = parts
                call = mod.modules.get(name)
                if call is None:
                    errors.append(f"{where}: module.{name} is not a module block in {rel(path)}")
                elif out and "target" in call and out not in call["target"].outputs:
                    errors.append(f"{where}: module.{name}.{out}: {rel(call['target'].path)} has no output {out!r}")
            elif kind == "data" and ".".join(parts) not in mod.data:
                errors.append(f"{where}: data.{'.'.join(parts)} is not declared in {rel(path)}")
            elif kind == "resource" and ".".join(parts) not in mod.resources:
                errors.append(f"{where}: {'.'.join(parts)} is not a resource declared in {rel(path)}")
            elif kind == "file" and not os.path.exists(os.path.join(path, parts[0])):
                errors.append(f"{where}: file {parts[0]!r} does not exist (relative to {rel(path)})")
    return modules


def environment_examples(base):
    """Each environment's `terraform.tfvars.example`, in environments/<env>/."""
    envs_dir = os.path.join(base, "environments")
    if not os.path.isdir(envs_dir):
        return []
    return [os.path.join(envs_dir, e, "terraform.tfvars.example") for e in sorted(os.listdir(envs_dir))
            if os.path.exists(os.path.join(envs_dir, e, "terraform.tfvars.example"))]


def check_tfvars_examples(base, modules, errors):
    stack = modules.get(os.path.realpath(base))
    examples = environment_examples(base)
    if examples and stack is None:
        errors.append(f"{rel(base)}: environments but no stack (.tf files) to apply them to")
        return
    for example in examples:
        path, mod = base, stack
        with open(example, encoding="utf-8") as f:
            text = f.read()
        scanner = Scanner(text).scan()
        keys = scanner.top_attrs
        for key in sorted(keys - set(mod.variables)):
            errors.append(f"{rel(example)}: {key!r} is not a variable of {rel(path)}")
        # Object values: tofu drops attributes the type does not have, silently.
        for b in scanner.blocks:
            allowed = mod.object_attrs.get(b["type"])
            if allowed is not None and not b["labels"]:
                for attr in sorted(set(b["attrs"]) - allowed):
                    errors.append(f"{rel(example)}:{b['line']}: {b['type']}.{attr} is not an attribute "
                                  f"of variable {b['type']!r} (tofu would ignore it)")
        for var, has_default in sorted(mod.variables.items()):
            if not has_default and var not in keys:
                errors.append(f"{rel(example)}: required variable {var!r} is not set")


# ---- wump's metrics: the code, the collector, the OpenTofu code ------------------------------


def exported_metrics(crates_dir):
    """Metric names the code exports: string literals shaped like one in crates/*/src."""
    names = set()
    for dirpath, dirnames, files in os.walk(crates_dir):
        dirnames[:] = [d for d in dirnames if d not in ("target", "tests", "benches")]
        if os.sep + "src" not in dirpath + os.sep:
            continue
        for f in files:
            if f.endswith(".rs"):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    for m in re.finditer(r'"([^"\\\n]*)"', fh.read()):
                        if METRIC_NAME.fullmatch(m.group(1)):
                            names.add(m.group(1))
    return names


def load_yaml():
    try:
        import yaml  # noqa: PLC0415

        return yaml
    except ImportError:
        pass
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    try:
        import yaml  # noqa: PLC0415

        return yaml
    except ImportError:
        pass
    print("installing PyYAML into .tools/py", file=sys.stderr)
    env = dict(os.environ, PIP_ROOT_USER_ACTION="ignore", PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", TOOLS, "pyyaml"],
                   check=True, env=env, stdout=sys.stderr)
    import importlib

    importlib.invalidate_caches()
    import yaml  # noqa: PLC0415

    return yaml


def collector_declarations(path):
    """(selector pattern, its dimension sets as frozensets) of the awsemf exporter."""
    with open(path, encoding="utf-8") as f:
        config = load_yaml().safe_load(f)
    declared = []
    for d in config["exporters"]["awsemf"].get("metric_declarations", []):
        sets = [frozenset(s) for s in d.get("dimensions", [])]
        for selector in d.get("metric_name_selectors", []):
            declared.append((selector, sets))
    return declared


def metric_uses(text):
    """(offset, name, dimension names or None) of every metric the OpenTofu text names; the
    dimensions are known for the dashboard's SEARCH table and its metric rows."""
    uses = [(m.start(), m.group(0), None) for m in METRIC_NAME.finditer(text)]
    for m in re.finditer(r'\{\s*dims\s*=\s*"((?:[^"\\]|\\.)*)"\s*,\s*metric\s*=\s*"([^"]+)"', text):
        dims = {"Environment", *(d.strip().strip('\\"') for d in m.group(1).split(","))}
        uses.append((m.start(), m.group(2), frozenset(dims)))
    for m in re.finditer(r'\[\s*local\.ns\s*,\s*"([^"]+)"((?:\s*,\s*(?:"[^"]*"|local\.env))*)', text):
        values = re.findall(r'"[^"]*"|local\.env', m.group(2))
        dims = frozenset(v.strip('"') for v in values[0::2])
        uses.append((m.start(), m.group(1), dims))
    return uses


def check_metrics(base, errors, crates_dir=os.path.join(ROOT, "crates")):
    collector = os.path.join(os.path.dirname(base), "otel", "ecs-collector.yaml")
    if not os.path.exists(collector):
        return
    code = exported_metrics(crates_dir)
    known = code
    declared = collector_declarations(collector)
    for selector, _ in declared:
        if not any(re.search(selector, n) for n in known):
            errors.append(f"{rel(collector)}: selector {selector!r} selects no metric the code exports")
    for dirpath, _, files in sorted(os.walk(base)):
        for f in sorted(files):
            if not f.endswith(".tf"):
                continue
            path = os.path.join(dirpath, f)
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            for offset, name, dims in metric_uses(text):
                where = f"{rel(path)}:{text.count(chr(10), 0, offset) + 1}"
                if name not in known:
                    errors.append(f"{where}: {name} is not a metric the code exports")
                    continue
                sets = [s for selector, ss in declared if re.search(selector, name) for s in ss]
                if not sets:
                    errors.append(f"{where}: {name} is not selected by {rel(collector)} "
                                  "(awsemf would not turn it into a CloudWatch metric)")
                elif dims is not None and dims not in sets:
                    errors.append(f"{where}: {name} with dimensions {sorted(dims)} is not a dimension "
                                  f"set {rel(collector)} declares for it ({[sorted(s) for s in sets]})")


# ---- formatting and syntax -----------------------------------------------------------------


def tofu_binary():
    for name in ("tofu", "terraform"):
        path = shutil.which(name)
        if path:
            return path
    return None


def check_fmt(binary, base, errors):
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    tool = os.path.basename(binary)
    with tempfile.TemporaryDirectory() as tmp:
        # A CLI config of our own: no warning about a missing ~/.terraformrc, no plugins.
        rc = os.path.join(tmp, "cli.tfrc")
        open(rc, "w").close()
        env["TF_CLI_CONFIG_FILE"] = rc
        env["TOFU_CLI_CONFIG_FILE"] = rc
        # fmt only takes .tf/.tfvars names: check the examples under a .tfvars name.
        examples_dir = os.path.join(tmp, "examples")
        os.mkdir(examples_dir)
        examples = {}
        for dirpath, _, files in os.walk(base):
            for f in sorted(files):
                if f.endswith(".tfvars.example"):
                    dst = os.path.join(examples_dir, f"{len(examples)}.tfvars")
                    shutil.copyfile(os.path.join(dirpath, f), dst)
                    examples[dst] = os.path.join(dirpath, f)

        def fmt(targets):
            r = subprocess.run([binary, "fmt", "-check", "-list=true", "-no-color", "-recursive", *targets],
                               capture_output=True, text=True, env=env, cwd=ROOT)
            listed = [os.path.normpath(os.path.join(ROOT, ln.strip())) for ln in r.stdout.splitlines() if ln.strip()]
            return r, listed

        # One run for everything (fmt takes several targets); on a failure that lists no
        # file (a syntax error, or an fmt that takes one target), one run per target says
        # which file it is.
        r, listed = fmt([base, examples_dir])
        runs = [(base, r, listed)]
        if r.returncode != 0 and not listed:
            runs = [(t, *fmt([t])) for t in [base, *examples]]
        for target, r, listed in runs:
            for path in listed:
                errors.append(f"{rel(examples.get(path, path))}: not formatted as `{tool} fmt` would "
                              f"(run: just tofu-fmt)")
            if r.returncode != 0 and not listed:
                detail = r.stderr.strip() or f"{tool} fmt failed"
                for tmp_path, src in examples.items():
                    detail = detail.replace(tmp_path, rel(src))
                errors.append(f"{rel(examples.get(target, target))}: {detail}")


def load_hcl2():
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    try:
        import hcl2  # noqa: PLC0415

        return hcl2
    except ImportError:
        pass
    print("installing python-hcl2 (and lark, regex) into .tools/py", file=sys.stderr)
    env = dict(os.environ, PIP_ROOT_USER_ACTION="ignore", PIP_DISABLE_PIP_VERSION_CHECK="1")
    # --upgrade: pip --target will not add to an existing .tools/py/bin otherwise.
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--upgrade", "--no-deps",
         "--target", TOOLS, *HCL2_PACKAGES],
        check=True, env=env, stdout=sys.stderr,
    )
    import importlib

    importlib.invalidate_caches()
    import hcl2  # noqa: PLC0415

    return hcl2


def check_syntax_hcl2(base, errors):
    hcl2 = load_hcl2()
    for dirpath, _, files in sorted(os.walk(base)):
        for f in sorted(files):
            if not f.endswith((".tf", ".tfvars", ".tfvars.example", ".hcl", ".hcl.example")):
                continue
            path = os.path.join(dirpath, f)
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            try:
                hcl2.loads(text)
            except Exception as e:  # noqa: BLE001 - lark raises many types; all mean "invalid"
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                errors.append(f"{rel(path)}: syntax error: {first}")
            if "\t" in text:
                errors.append(f"{rel(path)}: contains tabs (fmt indents with two spaces)")
            if text and not text.endswith("\n"):
                errors.append(f"{rel(path)}: no newline at the end")


def rel(path):
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def run(base, binary):
    """All checks over `base`; returns the list of errors and how syntax was checked."""
    errors = []
    if binary:
        check_fmt(binary, base, errors)
        how = f"{os.path.basename(binary)} fmt -check"
    else:
        check_syntax_hcl2(base, errors)
        how = "python-hcl2 (syntax only: no tofu/terraform on PATH for fmt)"
    modules = check_references(base, errors)
    check_tfvars_examples(base, modules, errors)
    check_metrics(base, errors)
    return errors, how, len(modules)


def main():
    base = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "deploy", "tofu"))
    binary = None if os.environ.get("WUMP_HCL_FORCE_PARSER") == "1" else tofu_binary()
    errors, how, count = run(base, binary)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"{rel(base)}: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"{rel(base)}: OK ({count} directories; syntax: {how}; references resolve; "
          "metrics match the code and the collector)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
