//! Opening a vantage plan: one input per vantage (a rotated capture is one
//! chained source), shifted onto the reference clock, and the analysis
//! settings that name them.

use crate::analysis::AnalysisConfig;
use crate::capture::{BytesRead, CaptureError, CaptureFile, FilterError, PacketSource, SelectSpec};
use crate::pipeline::{Input, Pipeline, PipelineConfig};
use crate::vantage::names::file_name;
use crate::vantage::{ChainSource, Plan};

/// Why a plan's inputs could not be opened.
#[derive(Debug)]
pub enum OpenError {
    Capture(CaptureError),
    /// The filter expression is invalid or needs another build.
    Filter(FilterError),
}

impl From<CaptureError> for OpenError {
    fn from(e: CaptureError) -> Self {
        OpenError::Capture(e)
    }
}

impl From<FilterError> for OpenError {
    fn from(e: FilterError) -> Self {
        OpenError::Filter(e)
    }
}

/// Inputs and analysis settings for a [`Plan`]: one input per vantage (a
/// rotated capture is one chained source), shifted onto the reference
/// clock, each source filtered and counted as `select` says (nothing
/// selected: `SelectSpec::default()`), the files' reads counted in
/// `bytes_read`.
pub fn open_plan(
    plan: &Plan,
    cfg: &PipelineConfig,
    select: &SelectSpec,
    bytes_read: &BytesRead,
) -> Result<(Vec<Input>, AnalysisConfig), OpenError> {
    let several = plan.vantages.len() > 1;
    let mut inputs = Vec::new();
    let mut acfg = AnalysisConfig::default();
    for (i, v) in plan.vantages.iter().enumerate() {
        let pipeline = Pipeline::new(i, cfg.clone());
        let src: Box<dyn PacketSource> = match v.files.as_slice() {
            [one] => Box::new(CaptureFile::open_counted(one, bytes_read)?),
            files => Box::new(ChainSource::new(v.name.clone(), files.to_vec(), bytes_read.clone())),
        };
        let mut input = Input::boxed(select.apply(src)?, pipeline);
        input.shift_us = v.alignment.shift_us();
        inputs.push(input);
        acfg.vantages.push(v.name.clone());
        acfg.files.push(if v.files.len() > 1 {
            v.frame_bases.iter().zip(&v.files).map(|(b, p)| (*b, file_name(p))).collect()
        } else {
            Vec::new()
        });
        acfg.clocks.push(several.then(|| v.alignment.clone()));
    }
    Ok((inputs, acfg))
}
