//! `conv2d`: a projection between two populations laid out as (channels × height × width)
//! that shares one kernel over positions, as PyTorch's `nn.Conv2d` (cross-correlation, no
//! bias): target (co, oy, ox) receives from source (ci, oy·stride − padding + ky,
//! ox·stride − padding + kx) through kernel entry (co, ci, ky, kx). The kernel
//! (`[c_out, c_in, k, k]`) is stored once; each synapse stores only its entry's index.
//!
//! `pool2d`: the window connectivity of 2-D pooling (PyTorch's `AvgPool2d` / `MaxPool2d`
//! windows, no padding): target (c, oy, ox) receives from source (c, oy·stride + ky,
//! ox·stride + kx), 0 ≤ ky, kx < k, with the projection's weight. With weight 1 into
//! `sj_if` neurons of threshold 1 and a hard reset to 0 it is max pooling of spikes (a target
//! fires in the step after any of its window fires); with weight 1/k² into a current it is
//! average pooling.

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

const POOL_PARAMS: &[ParamSpec] = &[
    ParamSpec::required("kernel_size", Dim::Dimensionless, "side k of the square window"),
    ParamSpec::new("stride", Dim::Dimensionless, 0.0, "step between windows (0, the default: kernel_size)"),
];

/// The rule `pool2d`, for `SimBuilder::add_connection_rule`.
pub fn pool2d_rule() -> RuleSpec {
    RuleSpec {
        check: Some(|ctx, p| pool_geometry(&ctx.src_shape, &ctx.tgt_shape, p).map(|_| ())),
        ..RuleSpec::new(
            "pool2d",
            "2-D pooling windows between shaped populations with the same channels ([c, h, w] → [c, oh, ow]), each target receiving its k×k window with the projection's weight (no padding)",
            POOL_PARAMS,
            connect_pool,
        )
    }
}

/// The geometry of a `pool2d` projection: (channels, h, w, oh, ow, k, stride).
pub fn pool_geometry(src: &Option<Vec<usize>>, tgt: &Option<Vec<usize>>, p: &Params) -> Result<[usize; 7], String> {
    let (c, h, w) = chw(src, "source")?;
    let (co, oh, ow) = chw(tgt, "target")?;
    let k = count(p, "kernel_size", 1.0)?;
    let stride = match count(p, "stride", 0.0)? {
        0 => k,
        s => s,
    };
    if co != c {
        return Err(format!("pool2d keeps the channels: the source has {c}, the target {co}"));
    }
    let out = |n: usize| n.checked_sub(k).map(|x| x / stride + 1);
    if out(h) != Some(oh) || out(w) != Some(ow) {
        let show = |e: Option<usize>| e.map_or("none (window larger than the input)".to_string(), |x| x.to_string());
        return Err(format!("a {k}x{k} window with stride {stride} over {h}x{w} gives {}x{} positions, but the target is {oh}x{ow}", show(out(h)), show(out(w))));
    }
    Ok([c, h, w, oh, ow, k, stride])
}

fn connect_pool(ctx: &ConnectCtx, p: &Params) -> Result<Pairs, String> {
    let [c, h, w, oh, ow, k, stride] = pool_geometry(&ctx.src_shape, &ctx.tgt_shape, p)?;
    let mut pairs = Pairs::default();
    // By source, ascending (the order the engines deliver in).
    for ch in 0..c {
        for y in 0..h {
            for x in 0..w {
                let s = (ch * h + y) * w + x;
                for oy in (0..oh).filter(|&oy| y >= oy * stride && y < oy * stride + k) {
                    for ox in (0..ow).filter(|&ox| x >= ox * stride && x < ox * stride + k) {
                        pairs.push(s, (ch * oh + oy) * ow + ox);
                    }
                }
            }
        }
    }
    Ok(pairs)
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
