//! `lumosflow eval`: try an expression against JSON before putting it in a workflow.

use std::sync::OnceLock;

use anyhow::Context;
use clap::Args;
use engine::template::{EvalCtx, Templates};
use serde_json::Value;

#[derive(Args)]
pub struct EvalArgs {
    /// An expression (`steps.a.output | length`) or a template (`{{ … }}`, or text with
    /// `{{ … }}` in it).
    expression: String,
    /// JSON the expression reads, e.g. {"steps": {"a": {"output": …}}} from `runs show
    /// --json`; `-` for standard input. Default: an empty object.
    #[arg(long, value_name = "FILE")]
    data: Option<String>,
}

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let data: Value = match args.data.as_deref() {
        None => Value::Object(Default::default()),
        Some("-") => serde_json::from_reader(std::io::stdin().lock())
            .context("standard input is not JSON")?,
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
            serde_json::from_str(&text).with_context(|| format!("{path} is not JSON"))?
        }
    };
    let template = if args.expression.contains("{{") {
        args.expression.clone()
    } else {
        format!("{{{{ {} }}}}", args.expression)
    };
    let cache = OnceLock::new();
    let ctx = EvalCtx::new(&data, &cache);
    let value = Templates::new()
        .eval_str(&template, &ctx)
        .map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}
