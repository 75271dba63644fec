//! A canonical dump of the read models: equal for two copies that applied
//! the same log, whatever their commit boundaries or crashes. Leaves out
//! what depends on when commits happened: superseded inbox entries, the
//! prune queue, the `from` positions of inbox entries, where index pages
//! split, the cursor floor, which commit stored which KPI samples (they are
//! listed merged per org, day and category).

use std::fmt::Write;

use crate::error::ProjectionError;
use crate::inbox;
use crate::inbox::InboxValue;
use crate::keys::{self, to_hex};
use crate::kpi::{DayRows, DaySamples, SampleChunk};
use crate::pages;
use crate::record::TicketRecord;
use crate::runtime::{Checkpoint, Views};
use crate::sla::{self, SlaValue};
use crate::store;

impl Views {
    /// Every read-model entry as one line of text, in key order.
    pub fn dump(&self) -> Result<String, ProjectionError> {
        let tree = self.tree();
        let mut out = String::new();
        // Org and day (the key without the commit position) → category →
        // the samples, in log order (chunks are keyed by position).
        let mut samples: std::collections::BTreeMap<
            Vec<u8>,
            std::collections::BTreeMap<String, SampleChunk>,
        > = std::collections::BTreeMap::new();
        for entry in tree.iter() {
            let (key, value) = entry?;
            let Some(&table) = key.first() else {
                continue;
            };
            let line = match table {
                keys::META => {
                    let checkpoint: Checkpoint = store::decode("checkpoint", &value)?;
                    format!(
                        "checkpoint position={} applied={} skipped={}",
                        checkpoint.position, checkpoint.events_applied, checkpoint.events_skipped
                    )
                }
                keys::TICKET => {
                    let mut record: TicketRecord = store::decode("ticket record", &value)?;
                    if let Some(inbox) = &mut record.indexed.inbox {
                        inbox.from = [0; 4];
                    }
                    format!("{} {:?}", to_hex(&key), record)
                }
                keys::INBOX => {
                    // Pages split where their history made them split: list
                    // the current entries, without their `from`.
                    let space = split_space(&key, inbox::space_len(&key))?;
                    let mut lines = String::new();
                    for (suffix, value) in pages::decode_entries(&value)? {
                        let entry: InboxValue = store::decode("inbox entry", &value)?;
                        if entry.until != u64::MAX || suffix.len() < 8 {
                            continue;
                        }
                        let _ = writeln!(
                            lines,
                            "{}|{} {:?}",
                            to_hex(space),
                            to_hex(&suffix[..suffix.len() - 8]),
                            entry
                        );
                    }
                    out.push_str(&lines);
                    continue;
                }
                keys::RETIRE => continue,
                keys::SLA => {
                    let space = split_space(&key, sla::space_len(&key))?;
                    let mut lines = String::new();
                    for (suffix, value) in pages::decode_entries(&value)? {
                        let entry: SlaValue = store::decode("sla entry", &value)?;
                        let _ =
                            writeln!(lines, "{}|{} {:?}", to_hex(space), to_hex(&suffix), entry);
                    }
                    out.push_str(&lines);
                    continue;
                }
                keys::KPI_DAY => {
                    let rows: DayRows = store::decode("kpi day", &value)?;
                    format!("{} {:?}", to_hex(&key), rows)
                }
                keys::KPI_SAMPLES => {
                    let day = key
                        .get(..key.len().saturating_sub(8))
                        .ok_or_else(|| ProjectionError::corrupt("kpi samples key", "short"))?;
                    let merged = samples.entry(day.to_vec()).or_default();
                    for (category, chunk) in store::decode::<DaySamples>("kpi samples", &value)? {
                        let into = merged.entry(category).or_default();
                        into.first_response_s.extend(chunk.first_response_s);
                        into.resolution_s.extend(chunk.resolution_s);
                    }
                    continue;
                }
                _ => format!("{} {}", to_hex(&key), to_hex(&value)),
            };
            let _ = writeln!(out, "{line}");
        }
        for (day, categories) in samples {
            for (category, chunk) in categories {
                let _ = writeln!(out, "{} {category:?} {chunk:?}", to_hex(&day));
            }
        }
        Ok(out)
    }
}

fn split_space(page_key: &[u8], len: Option<usize>) -> Result<&[u8], ProjectionError> {
    len.and_then(|len| page_key.get(..len))
        .ok_or_else(|| ProjectionError::corrupt("index page key", "no space"))
}
