//! `stampede demo` and `stampede serve-demo`: the bundled target and script.

use crate::cli::{DemoArgs, ServeArgs};
use crate::exit::{Failure, OK};

pub fn demo(_args: DemoArgs) -> Result<u8, Failure> {
    Err(Failure::new(
        crate::exit::USAGE,
        "the demo is not built yet",
    ))
}

pub fn serve(_args: ServeArgs) -> Result<u8, Failure> {
    Ok(OK)
}
