//! Checking a password against its argon2 PHC hash, in working memory each thread keeps.

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Argon2, Block};
use zeroize::Zeroizing;

/// Working memory kept by one thread between checks (the default argon2id costs 19 MiB).
/// Found by review: allocating it per check, the allocator kept a fresh 19 MiB resident
/// after most checks, and a server's memory grew by hundreds of megabytes under login
/// load even on two threads. Reused, a thread holds one copy however many checks it runs.
const KEPT_BLOCKS: usize = 64 * 1024;

thread_local! {
    static WORKSPACE: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Whether `password` matches the PHC `hash` (argon2id, argon2i or argon2d with the
/// parameters the hash names), computed in this thread's reused working memory and
/// compared in constant time. A hash that cannot be checked never matches.
pub(crate) fn verify(password: &[u8], hash: &str) -> bool {
    let Ok(hash) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(argon2::Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&hash) else {
        return false;
    };
    let blocks = params.block_count();
    let context = Argon2::new(algorithm, version, params);
    let mut computed = Zeroizing::new(vec![0u8; expected.len()]);
    let hashed = if blocks <= KEPT_BLOCKS {
        WORKSPACE.with_borrow_mut(|memory| {
            if memory.len() < blocks {
                memory.resize(blocks, Block::new());
            }
            context.hash_password_into_with_memory(password, salt, &mut computed, &mut **memory)
        })
    } else {
        // An unusually costly hash: its memory is not kept.
        context.hash_password_into(password, salt, &mut computed)
    };
    hashed.is_ok() && Output::new(&computed).is_ok_and(|computed| computed == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher as _;

    #[test]
    fn verification_follows_the_parameters_the_hash_names() {
        let salt = [7u8; 16];
        for (algorithm, version, params) in [
            (
                argon2::Algorithm::Argon2id,
                argon2::Version::V0x13,
                argon2::Params::default(),
            ),
            (
                argon2::Algorithm::Argon2i,
                argon2::Version::V0x10,
                argon2::Params::new(64, 3, 2, Some(16)).unwrap(),
            ),
            (
                argon2::Algorithm::Argon2d,
                argon2::Version::V0x13,
                argon2::Params::new(8, 1, 1, Some(64)).unwrap(),
            ),
        ] {
            let phc = Argon2::new(algorithm, version, params)
                .hash_password_with_salt(b"correct horse", &salt)
                .unwrap()
                .to_string();
            assert!(verify(b"correct horse", &phc), "{phc}");
            assert!(!verify(b"correct horsE", &phc), "{phc}");
        }
        let good = Argon2::default()
            .hash_password_with_salt(b"correct horse", &salt)
            .unwrap()
            .to_string();
        for bad in [
            "",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
            "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
            &good.replace("v=19", "v=99"),
        ] {
            assert!(!verify(b"correct horse", bad), "{bad:?}");
        }
    }

    #[test]
    fn a_thread_reuses_its_working_memory() {
        let alice = Argon2::default()
            .hash_password_with_salt(b"correct horse", &[1u8; 16])
            .unwrap()
            .to_string();
        let mallory = Argon2::default()
            .hash_password_with_salt(b"other horse", &[2u8; 16])
            .unwrap()
            .to_string();
        std::thread::spawn(move || {
            assert!(!verify(b"wrong horse", &alice));
            let address = WORKSPACE.with_borrow(|memory| memory.as_ptr() as usize);
            for _ in 0..3 {
                assert!(verify(b"correct horse", &alice));
                assert!(!verify(b"correct horse", &mallory));
            }
            WORKSPACE.with_borrow(|memory| {
                assert_eq!(memory.as_ptr() as usize, address);
                assert_eq!(memory.len(), argon2::Params::default().block_count());
            });
        })
        .join()
        .unwrap();
    }
}
