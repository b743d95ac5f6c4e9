#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (default: fuzz/target/seeds/<target>/).

Seeds come from the snippets in fuzz/seeds/<format id>/ and, with --shared, from a corpus
of real files described by index.json files (such as ../shared/corpus/bibliothecary): those
are read where they lie and written here with a selector byte, never copied into the repo.

The parse_* targets read their first byte as an index into the formats they cover, taken
in `Format::ALL` order (see fuzz/src/lib.rs), so this script reads that order from the
`formats!` table in crates/manifests/src/format.rs: a format added there gets the right
selector here, and an ecosystem without a fuzz target is an error.

parse_repository reads NUL-separated files, each starting with an index into
`REPOSITORY_PATHS` in fuzz/src/lib.rs, which this script reads the same way; its seeds put
the snippets of REPOSITORY_SEEDS (and every snippet of a format those paths have) at those
paths.
"""

import argparse
import json
import pathlib
import re
import shutil
import sys

FUZZ = pathlib.Path(__file__).resolve().parent
FORMAT_RS = FUZZ.parent / "crates/manifests/src/format.rs"
ENTRY = re.compile(
    r'^\s*(\w+) => "([^"]+)", (?:Some\(Ecosystem::(\w+)\)|None), (?:true|false);', re.M
)
FUZZ_LIB = FUZZ / "src/lib.rs"

# Repositories for parse_repository: (path in REPOSITORY_PATHS, snippet under fuzz/seeds/).
# Shared build files beside the files that use them, nearest and farther ones.
REPOSITORY_SEEDS = {
    "gradle-catalog": [
        ("gradle/libs.versions.toml", "libs.versions.toml/libs.versions.toml"),
        ("build.gradle.kts", "build.gradle.kts/catalog.gradle.kts"),
        ("app/build.gradle", "build.gradle/catalog.gradle"),
    ],
    "gradle-nested-catalogs": [
        ("gradle/libs.versions.toml", "libs.versions.toml/libs.versions.toml"),
        ("gradle/testing.versions.toml", "libs.versions.toml/libs.versions.toml"),
        ("samples/gradle/libs.versions.toml", "libs.versions.toml/libs.versions.toml"),
        ("samples/demo/build.gradle.kts", "build.gradle.kts/catalog.gradle.kts"),
        ("app/build.gradle", "build.gradle/catalog.gradle"),
    ],
    "msbuild-central": [
        ("Directory.Packages.props", "Directory.Packages.props/Directory.Packages.props"),
        ("Directory.Build.props", "Directory.Build.props/Directory.Build.props"),
        ("Directory.Build.targets", "Directory.Build.targets/Directory.Build.targets"),
        ("src/App/App.csproj", "csproj/central.csproj"),
        ("tests/App.Tests/App.Tests.fsproj", "csproj/app.csproj"),
    ],
    "msbuild-nested": [
        ("Directory.Packages.props", "Directory.Packages.props/Directory.Packages.props"),
        ("Directory.Build.props", "Directory.Build.props/Directory.Build.props"),
        ("src/Directory.Build.props", "Directory.Build.props/Directory.Build.props"),
        ("src/Directory.Packages.props", "Directory.Packages.props/Directory.Packages.props"),
        ("src/App/App.csproj", "csproj/central.csproj"),
        ("src/App/packages.lock.json", "packages.lock.json/packages.lock.json"),
    ],
}

# Paths for the from_path target, beside every format id and the shared corpus' names.
PATH_SEEDS = [
    "./package.json",
    "packages/web/package-lock.json",
    "gems.rb",
    "gems.locked",
    "devise.gemspec",
    "src/App/App.fsproj",
    "src/App/App.vbproj",
    "requirements-dev.txt",
    "requirements/test.txt",
    "requirements.in",
    "requirements/prod.pip",
    ".github/workflows/ci.yaml",
    "sub/.github/workflows/release.yml",
    ".github/actions/setup/action.yml",
    "action.yaml",
    ".github/FUNDING.yml",
    "docs/FUNDING.yml",
    "gradle/testing.versions.toml",
    "build-logic/gradle/libs.versions.toml",
    "src/Directory.Build.targets",
    "README.md",
    "docs/notes.txt",
    "workflows/ci.yml",
    "",
    "/",
    "./",
]


def formats():
    """[(format id, target)] in Format::ALL order."""
    text = FORMAT_RS.read_text()
    start = text.index("formats! {")
    block = text[start : text.index("\n}", start)]
    found = [(m[2], "parse_" + (m[3] or "funding").lower()) for m in ENTRY.finditer(block)]
    if not found:
        sys.exit(f"no formats found in {FORMAT_RS}: has the formats! table changed?")
    return found


def repository_paths():
    """REPOSITORY_PATHS of fuzz/src/lib.rs, in order."""
    text = FUZZ_LIB.read_text()
    start = text.index("pub const REPOSITORY_PATHS")
    block = text[start : text.index("];", start)]
    found = re.findall(r'^\s*"([^"]+)",$', block, re.M)
    if not found:
        sys.exit(f"no REPOSITORY_PATHS found in {FUZZ_LIB}: has it changed?")
    return found


def format_of_path(path, ids):
    """A loose copy of Format::from_path, enough to name the files of a seed corpus."""
    while path.startswith("./"):
        path = path[2:]
    directory, _, file = path.rpartition("/")
    parent = directory.rsplit("/", 1)[-1]
    lower = file.lower()
    if file in ("gems.rb", "Gemfile"):
        return "Gemfile"
    if file in ("gems.locked", "Gemfile.lock"):
        return "Gemfile.lock"
    if file == "FUNDING.yml":
        return "FUNDING.yml"
    if directory.endswith(".github/workflows") and lower.endswith((".yml", ".yaml")):
        return "github-workflow"
    if file in ("action.yml", "action.yaml"):
        return "github-action"
    if lower.endswith(".versions.toml"):
        return "libs.versions.toml"
    if lower.endswith(".gemspec"):
        return "gemspec"
    if lower.endswith((".csproj", ".fsproj", ".vbproj")):
        return "csproj"
    if lower.endswith((".txt", ".in", ".pip", ".frozen")) and (
        lower.startswith("requirements") or parent == "requirements"
    ):
        return "requirements.txt"
    return file if file in ids else None


def safe(name):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "seed"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=FUZZ / "target/seeds")
    parser.add_argument(
        "--shared",
        type=pathlib.Path,
        action="append",
        default=[],
        help="a directory holding index.json files with `file` and `parse_as` (repeatable)",
    )
    parser.add_argument(
        "--max-len", type=int, default=65536, help="skip shared files larger than this"
    )
    args = parser.parse_args()

    table = formats()
    ids = [format_id for format_id, _ in table]
    targets = sorted({target for _, target in table})
    missing = [t for t in targets if not (FUZZ / "fuzz_targets" / f"{t}.rs").exists()]
    if missing:
        sys.exit(f"no fuzz target for: {', '.join(missing)} (add fuzz_targets/<name>.rs)")
    unknown = [d.name for d in (FUZZ / "seeds").iterdir() if d.name not in ids]
    if unknown:
        sys.exit(f"fuzz/seeds/ names unknown formats: {', '.join(unknown)}")

    # Selector bytes: a format's index among its target's formats, and among all of them.
    in_target, counts = {}, {}
    for format_id, target in table:
        in_target[format_id] = (target, counts.get(target, 0))
        counts[target] = counts.get(target, 0) + 1
    in_all = {format_id: index for index, format_id in enumerate(ids)}

    shutil.rmtree(args.out, ignore_errors=True)
    for target in [*targets, "parse_any", "parse_repository", "from_path"]:
        (args.out / target).mkdir(parents=True)
    written = {}

    def write(format_id, name, content):
        target, selector = in_target[format_id]
        file_name = safe(f"{format_id}--{name}")
        (args.out / target / file_name).write_bytes(bytes([selector]) + content)
        (args.out / "parse_any" / file_name).write_bytes(bytes([in_all[format_id]]) + content)
        written[target] = written.get(target, 0) + 1

    paths = set(PATH_SEEDS) | set(ids) | {f"a/b/{i}" for i in ids}
    for directory in sorted((FUZZ / "seeds").iterdir()):
        for snippet in sorted(directory.iterdir()):
            write(directory.name, snippet.name, snippet.read_bytes())

    skipped = []
    for root in args.shared:
        for index in sorted(root.rglob("index.json")):
            for case in json.loads(index.read_text()):
                if not isinstance(case, dict) or "file" not in case:
                    continue
                source = index.parent / case["file"]
                parse_as = case.get("parse_as") or pathlib.Path(case["file"]).name
                paths.add(parse_as)
                format_id = format_of_path(parse_as, ids)
                if format_id is None or not source.is_file():
                    skipped.append(f"{case['file']} (no format or no file)")
                    continue
                if source.stat().st_size > args.max_len:
                    skipped.append(f"{case['file']} (over {args.max_len} bytes)")
                    continue
                write(format_id, f"shared-{case['file']}", source.read_bytes())

    repository = write_repository_seeds(args.out / "parse_repository", ids)

    for number, path in enumerate(sorted(paths)):
        (args.out / "from_path" / f"path-{number:03}").write_text(path)

    counts = ", ".join(f"{t} {written.get(t, 0)}" for t in targets)
    print(
        f"seeds in {args.out}: {counts}, parse_repository {repository}, from_path {len(paths)}"
    )
    if skipped:
        print(f"skipped {len(skipped)} shared files: {'; '.join(skipped)}")


def write_repository_seeds(out, ids):
    """Writes parse_repository's seeds: REPOSITORY_SEEDS, then each snippet alone at the first
    path of its format. Returns how many."""
    paths = repository_paths()
    selector = {path: index for index, path in enumerate(paths)}
    unknown = [p for files in REPOSITORY_SEEDS.values() for p, _ in files if p not in selector]
    if unknown:
        sys.exit(f"REPOSITORY_SEEDS names paths REPOSITORY_PATHS lacks: {', '.join(unknown)}")

    def file(path, content):
        if b"\0" in content:
            sys.exit(f"a NUL in a seed for {path} would split it into two files")
        return bytes([selector[path]]) + content

    written = 0
    for name, files in REPOSITORY_SEEDS.items():
        content = b"\0".join(file(p, (FUZZ / "seeds" / s).read_bytes()) for p, s in files)
        (out / name).write_bytes(content)
        written += 1
    first_path = {}
    for path in paths:
        first_path.setdefault(format_of_path(path, ids), path)
    for format_id, path in first_path.items():
        for snippet in sorted((FUZZ / "seeds" / format_id).iterdir()):
            (out / safe(f"{format_id}--{snippet.name}")).write_bytes(file(path, snippet.read_bytes()))
            written += 1
    return written


if __name__ == "__main__":
    main()
