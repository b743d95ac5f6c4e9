//! Lua scripts sent by their SHA-1: `EVALSHA` carries a few dozen bytes where `EVAL` carries
//! the whole script on every call. A server that does not know the script yet (first call,
//! restarted, failed over, `SCRIPT FLUSH`) answers `NOSCRIPT`, and gets it once with `EVAL`,
//! which also caches it for the next call.

use fred::{
    error::Error,
    interfaces::ClientLike,
    types::{ClusterHash, CustomCommand, FromValue},
};
use sha1::{Digest, Sha1};

/// A Lua script and its SHA-1, hashed once.
#[derive(Debug, Clone)]
pub struct Script {
    lua: &'static str,
    sha1: String,
}

impl Script {
    /// `lua`'s script.
    pub fn new(lua: &'static str) -> Self {
        Self {
            lua,
            sha1: wump_core::hex::encode(&Sha1::digest(lua.as_bytes())),
        }
    }

    /// The script's SHA-1 in hexadecimal, the name `EVALSHA` calls it by.
    pub fn sha1(&self) -> &str {
        &self.sha1
    }

    /// Runs the script on `client` with `keys` (routed by the first in cluster mode) and
    /// `args`. Sent as a raw command so a `client.with_options(..)` wrapper keeps its
    /// timeout and attempts: fred's own `evalsha` is not implemented on that wrapper.
    pub async fn call<R, C, K, A>(&self, client: &C, keys: &[K], args: &[A]) -> Result<R, Error>
    where
        R: FromValue,
        C: ClientLike,
        K: AsRef<str>,
        A: AsRef<str>,
    {
        match client
            .custom(command("EVALSHA"), arguments(&self.sha1, keys, args))
            .await
        {
            Err(err) if err.details().starts_with("NOSCRIPT") => {
                self.eval(client, keys, args).await
            }
            answer => answer,
        }
    }

    /// [`Script::call`] with the whole script (`EVAL`): what `call` falls back to, and the
    /// baseline benchmarks compare it with.
    pub async fn eval<R, C, K, A>(&self, client: &C, keys: &[K], args: &[A]) -> Result<R, Error>
    where
        R: FromValue,
        C: ClientLike,
        K: AsRef<str>,
        A: AsRef<str>,
    {
        client
            .custom(command("EVAL"), arguments(self.lua, keys, args))
            .await
    }
}

/// `EVAL`/`EVALSHA`, hashed to the slot of the first key (the third argument).
fn command(name: &'static str) -> CustomCommand {
    CustomCommand::new_static(name, ClusterHash::Offset(2), false)
}

/// `script numkeys keys... args...`.
fn arguments(script: &str, keys: &[impl AsRef<str>], args: &[impl AsRef<str>]) -> Vec<String> {
    let mut all = Vec::with_capacity(2 + keys.len() + args.len());
    all.push(script.to_owned());
    all.push(keys.len().to_string());
    all.extend(keys.iter().map(|k| k.as_ref().to_owned()));
    all.extend(args.iter().map(|a| a.as_ref().to_owned()));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sha1_is_the_one_valkey_computes() {
        // `redis-cli SCRIPT LOAD "return 1"`.
        assert_eq!(
            Script::new("return 1").sha1,
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }
}
