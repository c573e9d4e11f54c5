//! The crate's modules do not import each other in cycles: modules in a cycle can only be read,
//! tested and changed together, and a cycle is how layers quietly stop being layers.
//!
//! A module is a file of `src/` (`mod.rs` is its folder's module, `lib.rs` the crate root; the
//! binary's `main.rs` is another crate). A module depends on another when its code names it:
//! `use crate::…`, `use super::…`, groups and aliases (`use crate::db::{self, funding, DbPool}`),
//! and paths written inline (`crate::db::history::Change`, `super::schedule::f(`, `repo::list(`
//! after `use crate::db::contracts as repo`). A path ends at the deepest module it names, so
//! `crate::db::DbPool` is an edge to `db`, the folder's `mod.rs`, and `super::problems::X` an edge to
//! the sibling, not to the parent. Comments, literals and `#[cfg(test)]` items do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module's path below the crate root, `["api", "funding"]`; the root is `[]`.
type ModulePath = Vec<String>;

/// Module name → the modules it depends on.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn name(module: &[String]) -> String {
    if module.is_empty() { "lib".to_owned() } else { module.join("/") }
}

/// Every module of the library with its source.
fn sources(dir: &Path, module: &[String], out: &mut BTreeMap<ModulePath, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            sources(&path, &[module, &[stem]].concat(), out);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            let at = match stem.as_str() {
                "main" if module.is_empty() => continue,
                "lib" if module.is_empty() => Vec::new(),
                "mod" => module.to_vec(),
                _ => [module, &[stem]].concat(),
            };
            out.insert(at, std::fs::read_to_string(&path).unwrap());
        }
    }
}

fn crate_graph() -> Graph {
    let mut files = BTreeMap::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &[], &mut files);
    let modules: BTreeSet<ModulePath> = files.keys().cloned().collect();
    files.iter().map(|(module, source)| (name(module), dependencies(module, source, &modules))).collect()
}

/// The code without comments and without the content of string and char literals, so that
/// neither a doc comment nor a string can name a module.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        match (at(i), at(i + 1)) {
            ('/', '/') => {
                while i < chars.len() && at(i) != '\n' {
                    i += 1;
                }
            }
            ('/', '*') => {
                let mut depth = 0;
                loop {
                    match (at(i), at(i + 1)) {
                        ('/', '*') => (depth, i) = (depth + 1, i + 2),
                        ('*', '/') => (depth, i) = (depth - 1, i + 2),
                        _ => i += 1,
                    }
                    if depth == 0 || i >= chars.len() {
                        break;
                    }
                }
            }
            ('"', _) => {
                i += 1;
                while i < chars.len() && at(i) != '"' {
                    i += if at(i) == '\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            // A char literal; a lifetime (`'a`, `'static`) stays.
            ('\'', '\\') => {
                // Past the quote, the backslash and the escaped character (`'\''`, `'\u{1f}'`).
                i += 3;
                while i < chars.len() && at(i) != '\'' {
                    i += 1;
                }
                i += 1;
                out.push(' ');
            }
            ('\'', _) if at(i + 2) == '\'' => {
                i += 3;
                out.push(' ');
            }
            (c, _) if c.is_alphabetic() || c == '_' => {
                let start = i;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
                if matches!(word.as_str(), "r" | "br" | "cr") && at(i + hashes) == '"' {
                    // A raw string ends at a quote followed by as many hashes as it opened with.
                    i += hashes + 1;
                    while i < chars.len() && !(at(i) == '"' && (1..=hashes).all(|k| at(i + k) == '#')) {
                        i += 1;
                    }
                    i += hashes + 1;
                    out.push_str("\"\"");
                } else {
                    out.push_str(&word);
                }
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The code without its `#[cfg(test)]` items: tests may reach anywhere.
fn without_tests(mut code: String) -> String {
    const CFG_TEST: &str = "#[cfg(test)]";
    while let Some(start) = code.find(CFG_TEST) {
        let bytes = code.as_bytes();
        let mut end = start + CFG_TEST.len();
        while end < bytes.len() && !matches!(bytes[end], b'{' | b';') {
            end += 1;
        }
        if bytes.get(end) == Some(&b'{') {
            let mut depth = 0;
            while end < bytes.len() {
                match bytes[end] {
                    b'{' => depth += 1,
                    b'}' if depth == 1 => break,
                    b'}' => depth -= 1,
                    _ => {}
                }
                end += 1;
            }
        }
        code.replace_range(start..(end + 1).min(code.len()), " ");
    }
    code
}

/// Identifiers, `::` and single punctuation characters.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".to_owned());
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

fn is_identifier(token: &str) -> bool {
    token.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// One imported path, with the name it is imported as (none for a glob).
struct Import {
    path: Vec<String>,
    local: Option<String>,
}

/// Reads the use tree at `tokens[*i]`, below `prefix`: `a::b`, `a::b as c`, `a::*`, `a::{self, b, c::{d}}`.
fn use_tree(tokens: &[String], i: &mut usize, prefix: &mut Vec<String>, out: &mut Vec<Import>) {
    let depth = prefix.len();
    while let Some(token) = tokens.get(*i) {
        *i += 1;
        match token.as_str() {
            "::" => {}
            "*" => {
                out.push(Import { path: prefix.clone(), local: None });
                break;
            }
            "{" => {
                while tokens.get(*i).is_some_and(|token| token != "}") {
                    use_tree(tokens, i, prefix, out);
                    if tokens.get(*i).is_some_and(|token| token == ",") {
                        *i += 1;
                    }
                }
                *i += 1;
                break;
            }
            segment => {
                // `self` inside a group is the group's own path.
                if segment != "self" || prefix.is_empty() {
                    prefix.push(segment.to_owned());
                }
                if tokens.get(*i).is_some_and(|token| token == "::") {
                    continue;
                }
                let mut local = prefix.last().cloned();
                if tokens.get(*i).is_some_and(|token| token == "as") {
                    local = tokens.get(*i + 1).cloned();
                    *i += 2;
                }
                out.push(Import { path: prefix.clone(), local });
                break;
            }
        }
    }
    prefix.truncate(depth);
}

/// Finds the modules that the paths of one module name.
struct Resolver<'a> {
    module: &'a [String],
    modules: &'a BTreeSet<ModulePath>,
    /// Local names of imported modules: `repo` after `use crate::db::contracts as repo`.
    aliases: BTreeMap<String, ModulePath>,
}

impl Resolver<'_> {
    /// The deepest module `path` names and how many of its segments are left after it, or `None`
    /// when the path leaves the crate.
    fn resolve(&self, path: &[String]) -> Option<(ModulePath, usize)> {
        let (first, rest) = path.split_first()?;
        let (mut module, rest) = match first.as_str() {
            "crate" => (Vec::new(), rest),
            "self" => (self.module.to_vec(), rest),
            "super" => {
                let supers = path.iter().take_while(|segment| *segment == "super").count();
                (self.module[..self.module.len().checked_sub(supers)?].to_vec(), &path[supers..])
            }
            _ if self.aliases.contains_key(first) => (self.aliases[first].clone(), rest),
            // A child module, by the name its `mod` line gives it.
            _ if self.modules.contains(&[self.module, std::slice::from_ref(first)].concat()) => {
                (self.module.to_vec(), path)
            }
            _ => return None,
        };
        let mut left = rest.len();
        for segment in rest {
            module.push(segment.clone());
            if !self.modules.contains(&module) {
                module.pop();
                break;
            }
            left -= 1;
        }
        Some((module, left))
    }
}

/// The other modules `module`'s source names.
fn dependencies(module: &[String], source: &str, modules: &BTreeSet<ModulePath>) -> BTreeSet<String> {
    let tokens = tokens(&without_tests(code_only(source)));
    let mut resolver = Resolver { module, modules, aliases: BTreeMap::new() };
    let mut targets = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        if token == "use" {
            let mut imports = Vec::new();
            i += 1;
            while tokens.get(i).is_some_and(|token| token != ";") {
                use_tree(&tokens, &mut i, &mut Vec::new(), &mut imports);
            }
            for Import { path, local } in imports {
                if let Some((target, left)) = resolver.resolve(&path) {
                    if let Some(local) = local.filter(|_| left == 0) {
                        resolver.aliases.insert(local, target.clone());
                    }
                    targets.push(target);
                }
            }
        } else if is_identifier(token)
            && tokens.get(i + 1).is_some_and(|next| next == "::")
            && (i == 0 || tokens[i - 1] != "::")
        {
            let mut path = vec![token.to_owned()];
            while tokens.get(i + 1).is_some_and(|next| next == "::")
                && tokens.get(i + 2).is_some_and(|segment| is_identifier(segment))
            {
                path.push(tokens[i + 2].clone());
                i += 2;
            }
            targets.extend(resolver.resolve(&path).map(|(target, _)| target));
        }
        i += 1;
    }
    targets.into_iter().filter(|target| target != module).map(|target| name(&target)).collect()
}

/// Every elementary cycle, each once, starting from its smallest module: `a → b → a`.
fn cycles(graph: &Graph) -> Vec<String> {
    fn walk(graph: &Graph, path: &mut Vec<String>, found: &mut Vec<String>) {
        let (start, last) = (path[0].clone(), path[path.len() - 1].clone());
        for next in graph.get(&last).into_iter().flatten() {
            if *next == start {
                found.push(format!("{} → {start}", path.join(" → ")));
            } else if *next > start && !path.contains(next) {
                path.push(next.clone());
                walk(graph, path, found);
                path.pop();
            }
        }
    }
    let mut found = Vec::new();
    for start in graph.keys() {
        walk(graph, &mut vec![start.clone()], &mut found);
    }
    found.sort();
    found
}

#[test]
fn modules_do_not_import_each_other_in_cycles() {
    let graph = crate_graph();
    assert!(graph.contains_key("api/contracts") && graph.contains_key("lib"), "src/ was not read");
    let cycles = cycles(&graph);
    assert!(cycles.is_empty(), "{} import cycles between modules:\n  {}", cycles.len(), cycles.join("\n  "));
}

/// Every layer reports with `error`, so it sits under all of them and may use only a leaf. Its
/// edge to `http/request_id` made no cycle between files, but put the error type above the HTTP
/// plumbing that returns it.
#[test]
fn error_depends_only_on_a_leaf_module() {
    let graph = crate_graph();
    let leaf = "problem_detail";
    assert_eq!(graph["error"], BTreeSet::from([leaf.to_owned()]), "error may import only {leaf}");
    assert!(graph[leaf].is_empty(), "{leaf} imports {:?}", graph[leaf]);
}

fn module_set(names: &[&str]) -> BTreeSet<ModulePath> {
    names.iter().map(|name| name.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect()).collect()
}

fn path(name: &str) -> ModulePath {
    name.split('/').map(str::to_owned).collect()
}

#[test]
fn groups_aliases_and_inline_paths_lead_to_the_module_they_name() {
    let modules = module_set(&["", "api", "api/contracts", "api/problems", "db", "db/funding", "db/history", "error"]);
    let source = r##"
        //! Not a dependency: [`crate::api::problems`].
        use super::with_etag;
        use crate::db::{self, funding as money, DbPool};
        use crate::error::ApiResult;

        const DOC: &str = "crate::api::problems";
        const BRACE: char = '{';

        fn f<'a>() -> ApiResult<&'a str> {
            let _ = crate::db::history::Change::Created;
            let _ = money::total(r#"crate::api::problems"#);
            db::run();
            Ok(DOC)
        }

        #[cfg(test)]
        mod tests {
            use crate::api::problems::Problems;
        }
    "##;
    assert_eq!(
        dependencies(&path("api/contracts"), source, &modules),
        BTreeSet::from(["api", "db", "db/funding", "db/history", "error"].map(str::to_owned))
    );
}

#[test]
fn a_folder_module_depends_on_the_children_it_uses_and_they_on_it() {
    let modules = module_set(&["", "ingest", "ingest/csv_rows", "ingest/rows", "domain"]);
    let parent = "mod csv_rows;\nmod rows;\npub fn read() { csv_rows::read(); }";
    assert_eq!(dependencies(&[], "pub mod ingest;\npub mod domain;", &modules), BTreeSet::new());
    assert_eq!(dependencies(&path("ingest"), parent, &modules), BTreeSet::from(["ingest/csv_rows".to_owned()]));
    let child = "use super::{rows::Rows, strip_bom};\nfn f() { super::super::domain::x(); }";
    assert_eq!(
        dependencies(&path("ingest/csv_rows"), child, &modules),
        BTreeSet::from(["domain", "ingest", "ingest/rows"].map(str::to_owned))
    );
}
