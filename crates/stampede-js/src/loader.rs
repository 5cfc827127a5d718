//! Module resolution: k6's built-in modules from embedded sources, the user's own files relative
//! to the importing module.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::{Declared, WriteOptions};
use rquickjs::{Ctx, Error, Module, Promise, Result};

use crate::TestContext;

/// The embedded k6 modules, by import name.
const BUILTINS: &[(&str, &str)] = &[
    ("k6", include_str!("../js/k6.js")),
    ("k6/http", include_str!("../js/k6_http.js")),
    ("k6/metrics", include_str!("../js/k6_metrics.js")),
    ("k6/execution", include_str!("../js/k6_execution.js")),
    ("k6/encoding", include_str!("../js/k6_encoding.js")),
    ("k6/data", include_str!("../js/k6_data.js")),
    ("k6/crypto", include_str!("../js/k6_crypto.js")),
    ("k6/ws", include_str!("../js/k6_ws.js")),
];

const BUILTIN_PREFIX: &str = "<stampede>/";

/// Parts of the built-in modules a VU evaluates only when first needed (not importable).
const INTERNAL: &[(&str, &str)] = &[("http_extra", include_str!("../js/k6_http_extra.js"))];

/// The namespace of the internal module `name`, evaluated in this VU's context the first time
/// (the caller keeps it): what few scripts use stays out of every VU's memory.
pub(crate) fn internal_module<'js>(
    ctx: &Ctx<'js>,
    test: &TestContext,
    name: &str,
) -> Result<rquickjs::Object<'js>> {
    let (_, src) = INTERNAL
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| Error::new_loading_message(name, "unknown internal module"))?;
    let full = format!("{BUILTIN_PREFIX}internal/{name}");
    let module = declare(ctx, test, &full, || Ok(src.as_bytes().to_vec()))?;
    // It has no top-level await: evaluating it runs it to the end.
    let (module, _) = module.eval()?;
    module.namespace()
}

/// `js/globals.js` (`console`, timers), evaluated in every VU before the script.
const GLOBALS: &str = include_str!("../js/globals.js");

/// Declares the module `name`, compiling `source` only once in the whole run: its bytecode is
/// kept in the test context and every later VU loads that instead of parsing the source again
/// (parsing was the largest part of starting a VU).
pub(crate) fn declare<'js>(
    ctx: &Ctx<'js>,
    test: &TestContext,
    name: &str,
    source: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<Module<'js, Declared>> {
    if let Some(code) = test.bytecode(name) {
        // SAFETY: the bytes were written by `Module::write` below, by this same QuickJS build
        // in this process.
        return unsafe { Module::load(ctx.clone(), &code) };
    }
    let module = Module::declare(ctx.clone(), name, source()?)?;
    // The embedded modules drop their source text and line tables (a stack trace still names
    // the user's own lines); the user's modules keep both, so errors and `toString()` are as
    // in k6.
    let builtin = name.starts_with(BUILTIN_PREFIX);
    let options = WriteOptions {
        strip_source: builtin,
        strip_debug: builtin,
        ..WriteOptions::default()
    };
    if let Ok(code) = module.write(options) {
        test.store_bytecode(name, code);
    }
    Ok(module)
}

/// Evaluates `js/globals.js` in a VU's context (after the natives are installed); the caller
/// settles the returned promise.
pub(crate) fn eval_globals<'js>(ctx: &Ctx<'js>, test: &TestContext) -> Result<Promise<'js>> {
    let name = format!("{BUILTIN_PREFIX}globals");
    let module = declare(ctx, test, &name, || Ok(GLOBALS.into()))?;
    let (_, promise) = module.eval()?;
    Ok(promise)
}

pub(crate) struct ScriptResolver;

impl Resolver for ScriptResolver {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _a: Option<ImportAttributes<'js>>,
    ) -> Result<String> {
        if BUILTINS.iter().any(|(n, _)| *n == name) {
            return Ok(format!("{BUILTIN_PREFIX}{name}"));
        }
        if name.starts_with("http://") || name.starts_with("https://") {
            return Err(Error::new_resolving_message(
                base,
                name,
                "remote modules are not supported: download the file next to your script and import it by a relative path",
            ));
        }
        if name.starts_with("k6") {
            return Err(Error::new_resolving_message(
                base,
                name,
                format!("unknown module: {name}"),
            ));
        }
        let path = name.strip_prefix("file://").unwrap_or(name);
        if path.starts_with('.') {
            let dir = Path::new(base).parent().unwrap_or(Path::new("/"));
            return Ok(normalize(&dir.join(path)).to_string_lossy().into_owned());
        }
        if path.starts_with('/') {
            return Ok(normalize(Path::new(path)).to_string_lossy().into_owned());
        }
        Err(Error::new_resolving_message(
            base,
            name,
            format!("unknown module: {name}"),
        ))
    }
}

/// Removes `.` and `..` components without touching the filesystem.
pub(crate) fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

pub(crate) struct ScriptLoader {
    pub(crate) test: Arc<TestContext>,
}

impl Loader for ScriptLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _a: Option<ImportAttributes<'js>>,
    ) -> Result<Module<'js, Declared>> {
        if let Some(builtin) = name.strip_prefix(BUILTIN_PREFIX) {
            let (_, src) = BUILTINS
                .iter()
                .find(|(n, _)| *n == builtin)
                .ok_or_else(|| Error::new_loading_message(name, "unknown built-in module"))?;
            return declare(ctx, &self.test, name, || Ok(src.as_bytes().to_vec()));
        }
        declare(ctx, &self.test, name, || {
            self.test
                .read_file(Path::new(name))
                .map(|b| b.as_slice().to_vec())
                .map_err(|e| Error::new_loading_message(name, format!("can't read {name}: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d.js")),
            PathBuf::from("/a/c/d.js")
        );
    }
}
