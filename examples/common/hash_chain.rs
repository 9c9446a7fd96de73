//! The CPU-bound job shared by the process-pool bench and the `compare`
//! example: SHA-256 chained over a buffer. `benches/procpool.py` computes
//! the same digests.

use sha2::{Digest, Sha256};

/// Bytes hashed per round of a hashing job.
pub const BLOCK: usize = 64 * 1024;

/// SHA-256 chained over a buffer: round `i` hashes the previous digest
/// followed by the buffer. The buffer is byte `j` = `(seed + j) % 251`.
pub fn hash_chain((seed, rounds): (u64, u32)) -> String {
    let block: Vec<u8> = (0..BLOCK as u64)
        .map(|j| ((seed + j) % 251) as u8)
        .collect();
    let mut digest = [0u8; 32];
    for _ in 0..rounds {
        let mut hasher = Sha256::new();
        hasher.update(digest);
        hasher.update(&block);
        digest = hasher.finalize().into();
    }
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
