//! Attachments' bytes in the data folder, stored by their SHA-256.
//!
//! An upload streams into a temporary file under `attachments/tmp/` while
//! it is hashed and its media type is told from the bytes; it is refused at
//! the size limit without ever being buffered whole. A staged upload is
//! `fsync`ed; once the command is decided it is renamed to
//! `attachments/<2 hex>/<sha256>` and both folders it touched are
//! `fsync`ed, and only then is the `attachment_added` event appended. So a
//! 2xx means the bytes and the event are both durable, and a crash never
//! leaves an event naming bytes that are not there.
//!
//! A request that ends early (refused, timed out, disconnected) drops its
//! temporary file, which removes it; a crash leaves it, and opening the
//! store removes every leftover temporary file. Stored bytes whose event
//! was never appended (a crash between the rename and the append, or a
//! command refused after its bytes were placed) are harmless: they are
//! content-addressed, so an upload of the same bytes reuses them; `docket-replay
//! verify` names the bytes the log needs, and nothing else reads the folder.

use std::path::{Path, PathBuf};

use docket_domain::attachment::{MediaType, MediaTypeSniffer};
use docket_domain::DomainError;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::AppError;
use crate::wire::hex;

/// The JetStream object store bucket that holds attachments' bytes with
/// `--nats`, each object named by its SHA-256.
pub const ATTACHMENT_BUCKET: &str = "DOCKET_ATTACHMENTS";

/// The folder of attachments inside a data folder.
pub fn attachments_dir(data_root: &Path) -> PathBuf {
    data_root.join("attachments")
}

/// Where the bytes of `sha256` are stored under `attachments`.
pub fn stored_path(attachments: &Path, sha256: &str) -> PathBuf {
    attachments
        .join(&sha256[..2.min(sha256.len())])
        .join(sha256)
}

/// The data folder's attachment store.
#[derive(Debug, Clone)]
pub struct AttachmentStore {
    root: PathBuf,
    tmp: PathBuf,
    limit_bytes: u64,
}

/// What an upload's bytes are, once all of them arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedBytes {
    /// The lowercase hex SHA-256.
    pub sha256: String,
    /// The size in bytes.
    pub size_bytes: u64,
    /// The type told from the bytes.
    pub media_type: MediaType,
}

/// An upload in progress: a temporary file being written and hashed.
pub struct Upload {
    file: tokio::fs::File,
    path: tempfile::TempPath,
    hasher: Sha256,
    sniffer: MediaTypeSniffer,
    size_bytes: u64,
    limit_bytes: u64,
}

/// An upload whose bytes are complete and `fsync`ed, not yet in place.
pub struct Staged {
    /// What the bytes are.
    pub bytes: UploadedBytes,
    path: tempfile::TempPath,
}

impl AttachmentStore {
    /// Opens (and makes) the store under `data_root`, removing temporary
    /// files a crash left behind. `limit_bytes` is the largest file taken.
    pub fn open(data_root: &Path, limit_bytes: u64) -> Result<AttachmentStore, AppError> {
        let root = attachments_dir(data_root);
        let tmp = root.join("tmp");
        let io = |source| AppError::AttachmentStore {
            path: tmp.clone(),
            source,
        };
        std::fs::create_dir_all(&tmp).map_err(io)?;
        let mut removed = 0usize;
        for entry in std::fs::read_dir(&tmp).map_err(io)? {
            let entry = entry.map_err(io)?;
            if std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(removed, "removed temporary upload files a stop left behind");
        }
        Ok(AttachmentStore {
            root,
            tmp,
            limit_bytes,
        })
    }

    /// The largest file taken, in bytes.
    pub fn limit_bytes(&self) -> u64 {
        self.limit_bytes
    }

    /// Where the bytes of `sha256` are stored.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        stored_path(&self.root, sha256)
    }

    /// Starts an upload into a new temporary file.
    pub fn begin(&self) -> Result<Upload, AppError> {
        let io = |source| AppError::AttachmentStore {
            path: self.tmp.clone(),
            source,
        };
        let (file, path) = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(&self.tmp)
            .map_err(io)?
            .into_parts();
        Ok(Upload {
            file: tokio::fs::File::from_std(file),
            path,
            hasher: Sha256::new(),
            sniffer: MediaTypeSniffer::default(),
            size_bytes: 0,
            limit_bytes: self.limit_bytes,
        })
    }

    /// Puts staged bytes in their place and makes the placing durable. Run
    /// again (a decision retried) it finds them there and does nothing.
    pub async fn place(&self, staged: &Staged) -> Result<PathBuf, AppError> {
        let target = self.path_of(&staged.bytes.sha256);
        let folder = target
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        let root = self.root.clone();
        let from = staged.path.to_path_buf();
        let to = target.clone();
        let io = |source| AppError::AttachmentStore {
            path: target.clone(),
            source,
        };
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if to.exists() {
                // The same bytes (same SHA-256) are already stored.
                return Ok(());
            }
            let new_folder = !folder.exists();
            std::fs::create_dir_all(&folder)?;
            std::fs::rename(&from, &to)?;
            std::fs::File::open(&folder)?.sync_all()?;
            if new_folder {
                std::fs::File::open(&root)?.sync_all()?;
            }
            Ok(())
        })
        .await
        .map_err(|_| AppError::Unexpected("the blocking pool dropped an attachment's placing"))?
        .map_err(io)?;
        Ok(target)
    }
}

impl Upload {
    /// Takes the next chunk: `AttachmentTooLarge` as soon as the file
    /// passes the limit.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), AppError> {
        self.size_bytes = self.size_bytes.saturating_add(chunk.len() as u64);
        if self.size_bytes > self.limit_bytes {
            return Err(AppError::AttachmentTooLarge {
                limit_bytes: self.limit_bytes,
            });
        }
        self.hasher.update(chunk);
        self.sniffer.feed(chunk);
        self.file
            .write_all(chunk)
            .await
            .map_err(|source| AppError::AttachmentStore {
                path: self.path.to_path_buf(),
                source,
            })
    }

    /// The whole file arrived: refused if empty or of a type not taken,
    /// else `fsync`ed and staged.
    pub async fn finish(mut self) -> Result<Staged, AppError> {
        if self.size_bytes == 0 {
            return Err(DomainError::EmptyAttachment.into());
        }
        let media_type = self.sniffer.finish()?;
        let io = |source| AppError::AttachmentStore {
            path: self.path.to_path_buf(),
            source,
        };
        self.file.flush().await.map_err(io)?;
        self.file.sync_all().await.map_err(io)?;
        let sha256 = hex(&self.hasher.finalize());
        Ok(Staged {
            bytes: UploadedBytes {
                sha256,
                size_bytes: self.size_bytes,
                media_type,
            },
            path: self.path,
        })
    }
}

/// With `--nats`: copies an attachment's bytes to [`ATTACHMENT_BUCKET`]
/// before the log entry naming them is published to the stream, so every
/// node that reads the stream can fetch them. Safe to repeat: a bucket
/// that holds the object is left as it is.
pub struct AttachmentCopier {
    store: AttachmentStore,
    replicas: usize,
}

impl AttachmentCopier {
    /// A copier from `store`, making the bucket with `replicas` if missing.
    pub fn new(store: AttachmentStore, replicas: usize) -> AttachmentCopier {
        AttachmentCopier { store, replicas }
    }
}

impl docket_eventstore::jetstream::BeforePublish for AttachmentCopier {
    fn before_publish<'a>(
        &'a self,
        log: &'a docket_eventstore::jetstream::JetStreamLog,
        entry: &'a docket_eventstore::StoredEvent,
    ) -> futures::future::BoxFuture<'a, Result<(), docket_eventstore::StoreError>> {
        Box::pin(async move {
            let event = entry.read()?;
            if event.event_type != "attachment_added" {
                return Ok(());
            }
            let decoded =
                docket_domain::codec::decode(event.event_type, event.schema_version, event.payload);
            let Ok(docket_domain::Event::AttachmentAdded(added)) = decoded else {
                tracing::warn!(
                    position = event.position,
                    "an attachment_added entry this build cannot read: its bytes are not copied"
                );
                return Ok(());
            };
            let path = self.store.path_of(&added.sha256);
            let mut file = match tokio::fs::File::open(&path).await {
                Ok(file) => file,
                Err(error) => {
                    // Stalling the copy of the whole log would not bring
                    // the bytes back; `docket-replay verify` names the fault.
                    tracing::error!(
                        position = event.position,
                        sha256 = %added.sha256,
                        %error,
                        "the bytes of an attachment are missing from the data folder"
                    );
                    return Ok(());
                }
            };
            log.put_object_if_missing(ATTACHMENT_BUCKET, self.replicas, &added.sha256, &mut file)
                .await?;
            Ok(())
        })
    }
}

/// The contract's `attachment` object of an attach command's answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttachmentAnswer {
    /// The attachment's id.
    pub attachment_id: uuid::Uuid,
    /// Its display name.
    pub filename: String,
    /// The type told from its bytes.
    pub media_type: MediaType,
    /// Its size in bytes.
    pub size: u64,
    /// The lowercase hex SHA-256 of its bytes.
    pub sha256: String,
    /// Who is shown it.
    pub visibility: docket_domain::types::Visibility,
    /// The `sub` of who added it.
    pub author: String,
    /// When it was added.
    #[serde(with = "docket_domain::types::instant")]
    pub at: time::OffsetDateTime,
}

impl crate::commands::Commands {
    /// The checks an upload passes before its bytes are read (the role,
    /// and a ticket the actor sees), so that no bytes are stored for a
    /// request that could never attach them.
    pub fn check_upload(
        &self,
        actor: &docket_domain::types::Actor,
        ticket_id: docket_domain::types::TicketId,
    ) -> Result<(), AppError> {
        let state = self.load_ticket(ticket_id)?;
        Ok(docket_domain::ticket::authorize_upload(&state, actor)?)
    }

    /// Attaches staged bytes to a ticket: decided like any ticket command,
    /// then the bytes are put in place durably, then the event appended.
    pub async fn attach(
        &self,
        meta: crate::commands::CommandMeta,
        ticket_id: docket_domain::types::TicketId,
        store: &AttachmentStore,
        staged: &Staged,
        filename: docket_domain::attachment::AttachmentName,
        visibility: docket_domain::types::Visibility,
    ) -> Result<crate::commands::Answer, AppError> {
        use docket_domain::attachment::AddAttachment;
        use docket_domain::ticket::{self, Command};
        use docket_eventstore::{ExpectedVersion, StreamAppend};

        use crate::commands::{
            answer_for, check_if_match, envelopes, AnswerBody, Outcome, Plan, RefundTotal,
        };

        self.run(&meta, || async {
            let state = self.load_ticket(ticket_id)?;
            let attachment_id = uuid::Uuid::now_v7();
            let command = Command::Attach(AddAttachment {
                attachment_id,
                filename: filename.clone(),
                media_type: staged.bytes.media_type,
                size_bytes: staged.bytes.size_bytes,
                sha256: staged.bytes.sha256.clone(),
                visibility,
            });
            ticket::authorize(&state, &command, &meta.actor)?;
            check_if_match(meta.if_match, state.version)?;
            let policy = match &state.opened {
                Some(opened) => self.policy(&opened.org)?,
                None => docket_domain::policy::OrgPolicy::default(),
            };
            let context = self.context(&meta.actor, policy);
            let events = ticket::decide(&state, &command, &context)?;
            // The bytes are durable in their place before the event is.
            store.place(staged).await?;
            let version = state.version;
            let after = events.iter().fold(state, ticket::apply);
            let mut answer = answer_for(&after, Outcome::Created, RefundTotal::Omitted);
            answer.location = Some(format!(
                "/v1/tickets/{ticket_id}/attachments/{attachment_id}"
            ));
            if let AnswerBody::Ticket(body) = &mut answer.body {
                body.attachment = Some(AttachmentAnswer {
                    attachment_id,
                    filename: filename.as_str().to_owned(),
                    media_type: staged.bytes.media_type,
                    size: staged.bytes.size_bytes,
                    sha256: staged.bytes.sha256.clone(),
                    visibility,
                    author: meta.actor.sub.clone(),
                    at: context.now,
                });
            }
            Ok(Plan {
                answer,
                request_streams: vec![StreamAppend {
                    stream: ticket_id.stream(),
                    expected: ExpectedVersion::Exact(version),
                    events: envelopes(&meta, &events, context.now, None),
                }],
                now: context.now,
            })
        })
        .await
    }
}
