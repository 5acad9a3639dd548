//! A minimal DER reader: just enough to pull public keys out of PEM files and private
//! scalars out of ring's PKCS#8 documents. Every read is bounds-checked; malformed input
//! yields `None`, never a panic.

/// DER tags used by the key formats we read.
pub(crate) mod tag {
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const SEQUENCE: u8 = 0x30;
}

/// A cursor over DER-encoded bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Der<'a> {
    input: &'a [u8],
}

impl<'a> Der<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// Read one element of any tag, returning `(tag, contents)`.
    pub(crate) fn read_any(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.input.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            // Indefinite lengths (0x80) are BER, not DER; more than 4 length bytes is absurd here.
            if count == 0 || count > 4 {
                return None;
            }
            let (bytes, after) = rest.split_at_checked(count)?;
            rest = after;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            // DER requires the minimal length encoding.
            if len < 0x80 || bytes.first() == Some(&0) {
                return None;
            }
            len
        };
        let (contents, after) = rest.split_at_checked(len)?;
        self.input = after;
        Some((tag, contents))
    }

    /// Read one element that must have `expected` as its tag.
    pub(crate) fn read(&mut self, expected: u8) -> Option<&'a [u8]> {
        match self.read_any()? {
            (tag, contents) if tag == expected => Some(contents),
            _ => None,
        }
    }

    /// Read a non-negative INTEGER and return its magnitude without the sign-padding byte.
    pub(crate) fn read_unsigned_integer(&mut self) -> Option<&'a [u8]> {
        let contents = self.read(tag::INTEGER)?;
        match contents {
            [] => None,
            [first, ..] if first & 0x80 != 0 => None,
            [0, rest @ ..] if !rest.is_empty() => {
                // A leading zero is only allowed to clear the sign bit.
                match rest.first() {
                    Some(b) if b & 0x80 != 0 => Some(rest),
                    _ => None,
                }
            }
            _ => Some(contents),
        }
    }
}

/// Pull the private scalar out of a PKCS#8 `PrivateKeyInfo` wrapping an RFC 5915
/// `ECPrivateKey`, as produced by ring's `EcdsaKeyPair::generate_pkcs8`.
pub(crate) fn ec_private_scalar_from_pkcs8(pkcs8: &[u8]) -> Option<&[u8]> {
    let mut outer = Der::new(Der::new(pkcs8).read(tag::SEQUENCE)?);
    outer.read(tag::INTEGER)?;
    outer.read(tag::SEQUENCE)?;
    let ec_private_key = outer.read(tag::OCTET_STRING)?;
    let mut inner = Der::new(Der::new(ec_private_key).read(tag::SEQUENCE)?);
    inner.read(tag::INTEGER)?;
    inner.read(tag::OCTET_STRING)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut der = Der::new(&[0x04, 0x02, 0xaa, 0xbb, 0x04, 0x81, 0x80]);
        assert_eq!(der.read(tag::OCTET_STRING), Some(&[0xaa, 0xbb][..]));
        // Long form claiming 128 bytes that are not there.
        assert_eq!(der.read(tag::OCTET_STRING), None);
    }

    #[test]
    fn rejects_non_minimal_lengths_and_bad_integers() {
        assert_eq!(
            Der::new(&[0x04, 0x81, 0x01, 0x00]).read(tag::OCTET_STRING),
            None
        );
        assert_eq!(Der::new(&[0x02, 0x01, 0x80]).read_unsigned_integer(), None);
        assert_eq!(
            Der::new(&[0x02, 0x02, 0x00, 0x01]).read_unsigned_integer(),
            None
        );
        assert_eq!(
            Der::new(&[0x02, 0x02, 0x00, 0x80]).read_unsigned_integer(),
            Some(&[0x80][..])
        );
    }

    #[test]
    fn truncated_input_never_panics() {
        let doc = [0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01];
        for end in 0..=doc.len() {
            let _ = ec_private_scalar_from_pkcs8(&doc[..end]);
            let _ = Der::new(&doc[..end]).read_any();
        }
    }
}
