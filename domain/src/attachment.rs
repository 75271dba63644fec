//! Attachments (seeds 000, 002, 003): photos, videos and documents a
//! customer or the team adds to a ticket. The bytes live outside the log,
//! stored by their SHA-256; the log records the `attachment_added` fact with
//! that hash and the size, so the two can always be checked against each
//! other.
//!
//! The rules here are the contract's: which media types are accepted and
//! how each is told from the bytes ([`MediaTypeSniffer`]), how a filename is
//! kept for display ([`AttachmentName`]), who may attach what
//! (the `Attach` command of `ticket::decide`), and the limit of [`ATTACHMENTS_PER_TICKET_MAX`].

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::types::Visibility;

/// The most attachments one ticket may have.
pub const ATTACHMENTS_PER_TICKET_MAX: usize = 100;
/// The longest filename kept, in characters.
pub const FILENAME_CHARS_MAX: usize = 255;
/// How many leading bytes the signature checks look at: enough for every
/// accepted type's signature (the longest, an MP4's `ftyp` box or WebM's
/// EBML header, sits in the first few dozen bytes).
pub const SNIFF_BYTES: usize = 4096;

/// The media types an attachment may have, each told by its signature
/// (`text/plain` by its content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaType {
    /// `image/png`
    #[serde(rename = "image/png")]
    Png,
    /// `image/jpeg`
    #[serde(rename = "image/jpeg")]
    Jpeg,
    /// `image/gif`
    #[serde(rename = "image/gif")]
    Gif,
    /// `image/webp`
    #[serde(rename = "image/webp")]
    Webp,
    /// `application/pdf`
    #[serde(rename = "application/pdf")]
    Pdf,
    /// `video/mp4`
    #[serde(rename = "video/mp4")]
    Mp4,
    /// `video/webm`
    #[serde(rename = "video/webm")]
    Webm,
    /// `video/quicktime`
    #[serde(rename = "video/quicktime")]
    Quicktime,
    /// `text/plain`: UTF-8 that no browser would take for markup or a script.
    #[serde(rename = "text/plain")]
    TextPlain,
}

impl MediaType {
    /// The contract's name of the type.
    pub fn as_str(&self) -> &'static str {
        match self {
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Gif => "image/gif",
            MediaType::Webp => "image/webp",
            MediaType::Pdf => "application/pdf",
            MediaType::Mp4 => "video/mp4",
            MediaType::Webm => "video/webm",
            MediaType::Quicktime => "video/quicktime",
            MediaType::TextPlain => "text/plain",
        }
    }

    /// The `Content-Type` a download answers with.
    pub fn content_type(&self) -> &'static str {
        match self {
            MediaType::TextPlain => "text/plain; charset=utf-8",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tells an attachment's media type from its bytes as they stream in: the
/// first [`SNIFF_BYTES`] for the signatures, and the whole stream for the
/// text rule (valid UTF-8, no NUL byte). Never trusts the client's word.
#[derive(Debug, Default)]
pub struct MediaTypeSniffer {
    head: Vec<u8>,
    /// Bytes of a UTF-8 sequence cut by a chunk boundary, kept for the next.
    pending: Vec<u8>,
    is_text: Option<bool>,
}

impl MediaTypeSniffer {
    /// Looks at the next chunk of the bytes.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.head.len() < SNIFF_BYTES {
            let take = chunk.len().min(SNIFF_BYTES - self.head.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if self.is_text == Some(false) {
            return;
        }
        if chunk.contains(&0) {
            self.is_text = Some(false);
            return;
        }
        // A character cut at the end of the last chunk is completed by the
        // first bytes of this one: check that seam, then the rest in place
        // (a chunk is never copied whole).
        let mut rest = chunk;
        if let Some(&lead) = self.pending.first() {
            let length = match lead {
                0xf0.. => 4,
                0xe0.. => 3,
                _ => 2,
            };
            let need = length - self.pending.len();
            let take = need.min(chunk.len());
            let mut seam = std::mem::take(&mut self.pending);
            seam.extend_from_slice(&chunk[..take]);
            if take < need {
                // Still cut: `finish` refuses a text that ends so.
                self.pending = seam;
                return;
            }
            if std::str::from_utf8(&seam).is_err() {
                self.is_text = Some(false);
                return;
            }
            rest = &chunk[take..];
        }
        match std::str::from_utf8(rest) {
            Ok(_) => {}
            Err(error) if error.error_len().is_none() => {
                self.pending = rest[error.valid_up_to()..].to_vec();
            }
            Err(_) => self.is_text = Some(false),
        }
    }

    /// The type of everything fed, or `UnsupportedAttachmentType`.
    pub fn finish(self) -> Result<MediaType, DomainError> {
        if let Some(media_type) = by_signature(&self.head) {
            return Ok(media_type);
        }
        let text = self.is_text != Some(false) && self.pending.is_empty();
        if text && looks_like_plain_text(&self.head) {
            return Ok(MediaType::TextPlain);
        }
        Err(DomainError::UnsupportedAttachmentType {
            detected: infer::get(&self.head)
                .map(|kind| kind.mime_type().to_owned())
                .unwrap_or_else(|| "unknown".to_owned()),
        })
    }
}

/// The accepted types by their signatures (the `infer` crate's matchers),
/// with the PNG's first chunk checked too: a PNG signature followed by
/// anything but an `IHDR` chunk (HTML, say) is not a picture.
fn by_signature(head: &[u8]) -> Option<MediaType> {
    let kind = infer::get(head)?;
    let media_type = match kind.mime_type() {
        "image/png" if head.get(12..16) == Some(b"IHDR") => MediaType::Png,
        "image/jpeg" => MediaType::Jpeg,
        "image/gif" => MediaType::Gif,
        "image/webp" => MediaType::Webp,
        "application/pdf" => MediaType::Pdf,
        "video/mp4" => MediaType::Mp4,
        "video/webm" => MediaType::Webm,
        "video/quicktime" => MediaType::Quicktime,
        _ => return None,
    };
    Some(media_type)
}

/// The contract's text rule on the first bytes: the first character that
/// is not whitespace or a BOM is not `<`, and the text does not start with
/// `#!`.
fn looks_like_plain_text(head: &[u8]) -> bool {
    // The head may end inside a character: only its valid prefix counts.
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) => std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or(""),
    };
    if text.starts_with("#!") {
        return false;
    }
    let first = text
        .chars()
        .find(|c| !c.is_whitespace() && *c != '\u{feff}');
    first != Some('<')
}

/// A filename kept for display: `/` and `\` separate path components and
/// only the last is kept, control characters (Unicode category Cc) are
/// removed, it is cut to [`FILENAME_CHARS_MAX`] characters, and an empty
/// one becomes `attachment`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttachmentName(String);

impl AttachmentName {
    /// The contract's display form of the client's filename. Total: every
    /// filename has one.
    pub fn sanitize(filename: &str) -> AttachmentName {
        let last = filename.rsplit(['/', '\\']).next().unwrap_or("");
        let kept: String = last
            .chars()
            .filter(|c| !c.is_control())
            .take(FILENAME_CHARS_MAX)
            .collect();
        if kept.is_empty() {
            AttachmentName("attachment".to_owned())
        } else {
            AttachmentName(kept)
        }
    }

    /// The name as kept.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An attachment a ticket has, as its events leave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    /// Its id.
    pub attachment_id: Uuid,
    /// Its display name.
    pub filename: String,
    /// Its media type.
    pub media_type: MediaType,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// The lowercase hex SHA-256 of its bytes: where they are stored.
    pub sha256: String,
    /// Who is shown it.
    pub visibility: Visibility,
}

/// Add an attachment whose bytes the caller has already stored durably.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddAttachment {
    /// A fresh id.
    pub attachment_id: Uuid,
    /// The display name.
    pub filename: AttachmentName,
    /// The type told from the bytes.
    pub media_type: MediaType,
    /// The size in bytes (at least 1).
    pub size_bytes: u64,
    /// The lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Public (the default) or internal.
    pub visibility: Visibility,
}

/// Whether `text` is a lowercase hex SHA-256 (64 characters).
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The attachment limit: `too_many_attachments` once a ticket has
/// [`ATTACHMENTS_PER_TICKET_MAX`].
pub fn check_room(attachments: usize) -> Result<(), DomainError> {
    if attachments >= ATTACHMENTS_PER_TICKET_MAX {
        Err(DomainError::TooManyAttachments {
            max: ATTACHMENTS_PER_TICKET_MAX,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(chunks: &[&[u8]]) -> Result<MediaType, DomainError> {
        let mut sniffer = MediaTypeSniffer::default();
        for chunk in chunks {
            sniffer.feed(chunk);
        }
        sniffer.finish()
    }

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06";

    #[test]
    fn types_are_told_from_the_bytes() {
        assert_eq!(sniff(&[PNG]), Ok(MediaType::Png));
        assert_eq!(
            sniff(&[b"\xff\xd8\xff\xe0\x00\x10JFIF"]),
            Ok(MediaType::Jpeg)
        );
        assert_eq!(sniff(&[b"GIF89a\x01\x00"]), Ok(MediaType::Gif));
        assert_eq!(sniff(&[b"%PDF-1.7\n"]), Ok(MediaType::Pdf));
        assert_eq!(
            sniff(&[b"Hello,\nthe parcel arrived crushed."]),
            Ok(MediaType::TextPlain)
        );
        assert_eq!(
            sniff(&[b"\xef\xbb\xbf  caf\xc3", b"\xa9 ok"]),
            Ok(MediaType::TextPlain)
        );
    }

    #[test]
    fn markup_scripts_archives_and_disguises_are_refused() {
        for bytes in [
            &b"<html><script>alert(1)</script>"[..],
            b"  \n<svg xmlns='http://www.w3.org/2000/svg'/>",
            b"\xef\xbb\xbf<?xml version='1.0'?>",
            b"#!/bin/sh\nrm -rf /",
            b"PK\x03\x04\x14\x00\x00\x00",
            b"\x89PNG\r\n\x1a\n<html><body>not a picture</body></html>",
            b"text with a \x00 byte",
            b"\xff\xfe not UTF-8",
            b"MZ\x90\x00",
        ] {
            assert!(
                matches!(
                    sniff(&[bytes]),
                    Err(DomainError::UnsupportedAttachmentType { .. })
                ),
                "{bytes:?}"
            );
        }
        // A UTF-8 sequence cut at the very end is not text.
        assert!(sniff(&[b"caf\xc3"]).is_err());
    }

    #[test]
    fn filenames_keep_their_last_component_without_control_characters() {
        for (given, kept) in [
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\anna\\photo.jpg", "photo.jpg"),
            ("bad\r\nname\u{7}.png", "badname.png"),
            ("dir/", "attachment"),
            ("", "attachment"),
            ("\u{1}\u{2}", "attachment"),
            ("foto ü.png", "foto ü.png"),
        ] {
            assert_eq!(AttachmentName::sanitize(given).as_str(), kept, "{given:?}");
        }
        let long = "é".repeat(300);
        assert_eq!(
            AttachmentName::sanitize(&long).as_str().chars().count(),
            255
        );
    }

    proptest::proptest! {
        #[test]
        fn text_is_told_the_same_however_the_bytes_are_cut(
            text in "[a-zé€😀 \\n<#!]{0,40}",
            cuts in proptest::collection::vec(0usize..200, 0..6),
            spoil in proptest::option::of(0usize..200),
        ) {
            let mut bytes = text.into_bytes();
            if let Some(at) = spoil {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] = 0xff;
                }
            }
            let whole = sniff(&[&bytes]).is_ok();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut pieces: Vec<&[u8]> = Vec::new();
            let mut from = 0;
            for cut in cuts {
                pieces.push(&bytes[from..cut]);
                from = cut;
            }
            pieces.push(&bytes[from..]);
            proptest::prop_assert_eq!(sniff(&pieces).is_ok(), whole);
        }
    }
}
