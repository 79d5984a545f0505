//! `conv2d`: a projection between two populations laid out as (channels × height × width)
//! that shares one kernel over positions, as PyTorch's `nn.Conv2d` (cross-correlation, no
//! bias): target (co, oy, ox) receives from source (ci, oy·stride − padding + ky,
//! ox·stride − padding + kx) through kernel entry (co, ci, ky, kx). The kernel
//! (`[c_out, c_in, k, k]`) is stored once; each synapse stores only its entry's index.

use spikeworld::api::connect::{ConnectCtx, Pairs, RuleSpec};
use spikeworld::prelude::*;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::required("kernel_size", Dim::Dimensionless, "side k of the square kernel"),
    ParamSpec::new("stride", Dim::Dimensionless, 1.0, "step between kernel positions"),
    ParamSpec::new("padding", Dim::Dimensionless, 0.0, "zeros added on each side of the input"),
];

/// The rule, for `SimBuilder::add_connection_rule`.
pub fn conv2d_rule() -> RuleSpec {
    RuleSpec {
        kernel: Some(kernel_shape),
        ..RuleSpec::new(
            "conv2d",
            "2-D convolution between shaped populations (shape = [c, h, w]), one kernel [c_out, c_in, k, k] shared over positions (PyTorch Conv2d layout)",
            PARAMS,
            connect,
        )
    }
}

/// The geometry of one convolution.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    oh: usize,
    ow: usize,
    k: usize,
    stride: usize,
    pad: usize,
}

fn count(p: &Params, name: &str, min: f64) -> Result<usize, String> {
    let v = p.get(name);
    if v.fract() != 0.0 || v < min || v > 1e9 {
        return Err(format!("`{name}` must be a whole number >= {min} (found {v})"));
    }
    Ok(v as usize)
}

/// `[c, h, w]`, or `[h, w]` as one channel.
fn chw(shape: &Option<Vec<usize>>, which: &str) -> Result<(usize, usize, usize), String> {
    match shape.as_deref() {
        Some([c, h, w]) => Ok((*c, *h, *w)),
        Some([h, w]) => Ok((1, *h, *w)),
        Some(other) => Err(format!("conv2d needs {which} of shape [c, h, w] or [h, w] (found {other:?})")),
        None => Err(format!("conv2d needs the whole of a {which} population (or source) with `shape = [c, h, w]`")),
    }
}

fn geometry(ctx: &ConnectCtx, p: &Params) -> Result<Geometry, String> {
    let (c_in, h, w) = chw(&ctx.src_shape, "source")?;
    let (c_out, oh, ow) = chw(&ctx.tgt_shape, "target")?;
    let k = count(p, "kernel_size", 1.0)?;
    let stride = count(p, "stride", 1.0)?;
    let pad = count(p, "padding", 0.0)?;
    let out = |n: usize| (n + 2 * pad).checked_sub(k).map(|x| x / stride + 1);
    let (eh, ew) = (out(h), out(w));
    if eh != Some(oh) || ew != Some(ow) {
        let show = |e: Option<usize>| e.map_or("none (kernel larger than the padded input)".to_string(), |x| x.to_string());
        return Err(format!(
            "a {k}x{k} kernel with stride {stride} and padding {pad} over {h}x{w} gives {}x{} positions, but the target is {oh}x{ow}",
            show(eh),
            show(ew)
        ));
    }
    Ok(Geometry { c_in, h, w, c_out, oh, ow, k, stride, pad })
}

fn kernel_shape(ctx: &ConnectCtx, p: &Params) -> Result<Vec<usize>, String> {
    let g = geometry(ctx, p)?;
    Ok(vec![g.c_out, g.c_in, g.k, g.k])
}

/// Output positions `o` (along one axis) that input position `i` reaches, with the kernel
/// offset: `i = o·stride − pad + kk`, `0 <= kk < k`, `0 <= o < n_out`.
fn reach(i: usize, g: &Geometry, n_out: usize) -> impl Iterator<Item = (usize, usize)> {
    let (stride, pad, k) = (g.stride, g.pad, g.k);
    (0..n_out).filter_map(move |o| (i + pad).checked_sub(o * stride).filter(|&kk| kk < k).map(|kk| (o, kk)))
}

fn connect(ctx: &ConnectCtx, p: &Params) -> Result<Pairs, String> {
    let g = geometry(ctx, p)?;
    let mut pairs = Pairs::default();
    for ci in 0..g.c_in {
        for y in 0..g.h {
            for x in 0..g.w {
                let s = (ci * g.h + y) * g.w + x;
                for co in 0..g.c_out {
                    for (oy, ky) in reach(y, &g, g.oh) {
                        for (ox, kx) in reach(x, &g, g.ow) {
                            let t = (co * g.oh + oy) * g.ow + ox;
                            let e = ((co * g.c_in + ci) * g.k + ky) * g.k + kx;
                            pairs.push_shared(s, t, e);
                        }
                    }
                }
            }
        }
    }
    Ok(pairs)
}
