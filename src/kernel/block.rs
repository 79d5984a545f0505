//! [`Block`]: the lanes of the cpu engine's fused loop, a fixed number of neurons' values
//! of one variable, each operation the `f64` one applied lane by lane.

use crate::api::model::Lanes;

/// `L` neurons' values of one variable: the lanes of the cpu engine. Every operation is the
/// `f64` one applied lane by lane, so results are those of `L = f64`, bit for bit. The
/// fused loop steps 8 neurons at a time as one `Block<8>` (see `fused_block_loop`).
#[derive(Clone, Copy)]
pub(super) struct Block<const L: usize>(pub(super) [f64; L]);

impl<const L: usize> Block<L> {
    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64) -> Self {
        Block(std::array::from_fn(|i| f(self.0[i])))
    }
    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        Block(std::array::from_fn(|i| f(self.0[i], o.0[i])))
    }
}

macro_rules! block_ops {
    ($($tr:ident $m:ident $op:tt),*) => {$(
        impl<const L: usize> std::ops::$tr for Block<L> {
            type Output = Self;
            #[inline(always)]
            fn $m(self, o: Self) -> Self {
                self.zip(o, |a, b| a $op b)
            }
        }
        impl<const L: usize> std::ops::$tr<f64> for Block<L> {
            type Output = Self;
            #[inline(always)]
            fn $m(self, o: f64) -> Self {
                self.map(|a| a $op o)
            }
        }
    )*};
}
block_ops!(Add add +, Sub sub -, Mul mul *, Div div /);

impl<const L: usize> std::ops::Neg for Block<L> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        self.map(|a| -a)
    }
}

/// A lane-wise boolean of [`Block`]: all ones (true) or zero, as wide as a lane, so that
/// comparisons and selects compile to vector compares and blends.
#[derive(Clone, Copy)]
pub(super) struct BlockMask<const L: usize>(pub(super) [u64; L]);

impl<const L: usize> BlockMask<L> {
    #[inline(always)]
    fn from_fn(f: impl Fn(usize) -> bool) -> Self {
        BlockMask(std::array::from_fn(|i| u64::from(f(i)).wrapping_neg()))
    }
    /// Lane `i` true ⇔ bit `i` set.
    #[inline(always)]
    pub(super) fn bits(&self) -> u32 {
        const { assert!(L <= 32, "a block's spikes are the bits of a u32") };
        let mut b = 0;
        for i in 0..L {
            b |= ((self.0[i] >> 63) as u32) << i;
        }
        b
    }
    /// Whether any lane is true.
    #[inline(always)]
    pub(super) fn any(&self) -> bool {
        self.0.iter().fold(0, |a, &l| a | l) != 0
    }
    #[inline(always)]
    fn lane(&self, i: usize) -> bool {
        self.0[i] != 0
    }
}

/// Each lane delegates to `<f64 as Lanes>`, so both agree by construction.
impl<const L: usize> Lanes for Block<L> {
    type Mask = BlockMask<L>;
    #[inline(always)]
    fn gt(&self, x: f64) -> BlockMask<L> {
        BlockMask::from_fn(|i| <f64 as Lanes>::gt(&self.0[i], x))
    }
    #[inline(always)]
    fn ge(&self, x: f64) -> BlockMask<L> {
        BlockMask::from_fn(|i| <f64 as Lanes>::ge(&self.0[i], x))
    }
    #[inline(always)]
    fn lt(&self, x: f64) -> BlockMask<L> {
        BlockMask::from_fn(|i| <f64 as Lanes>::lt(&self.0[i], x))
    }
    #[inline(always)]
    fn le(&self, x: f64) -> BlockMask<L> {
        BlockMask::from_fn(|i| <f64 as Lanes>::le(&self.0[i], x))
    }
    #[inline(always)]
    fn gt_lanes(&self, o: &Self) -> BlockMask<L> {
        BlockMask::from_fn(|i| self.0[i].gt_lanes(&o.0[i]))
    }
    #[inline(always)]
    fn select(mask: &BlockMask<L>, a: Self, b: Self) -> Self {
        Block(std::array::from_fn(|i| f64::select(&mask.lane(i), a.0[i], b.0[i])))
    }
    #[inline(always)]
    fn select_const(mask: &BlockMask<L>, x: f64, b: Self) -> Self {
        Block(std::array::from_fn(|i| f64::select_const(&mask.lane(i), x, b.0[i])))
    }
    #[inline(always)]
    fn and_not(a: &BlockMask<L>, b: &BlockMask<L>) -> BlockMask<L> {
        BlockMask::from_fn(|i| f64::and_not(&a.lane(i), &b.lane(i)))
    }
    #[inline(always)]
    fn and(a: &BlockMask<L>, b: &BlockMask<L>) -> BlockMask<L> {
        BlockMask::from_fn(|i| f64::and(&a.lane(i), &b.lane(i)))
    }
    #[inline(always)]
    fn or(a: &BlockMask<L>, b: &BlockMask<L>) -> BlockMask<L> {
        BlockMask::from_fn(|i| f64::or(&a.lane(i), &b.lane(i)))
    }
    #[inline(always)]
    fn not(a: &BlockMask<L>) -> BlockMask<L> {
        BlockMask::from_fn(|i| f64::not(&a.lane(i)))
    }
    #[inline(always)]
    fn exp(self) -> Self {
        self.map(<f64 as Lanes>::exp)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        self.map(<f64 as Lanes>::ln)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        self.map(<f64 as Lanes>::sqrt)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        self.map(<f64 as Lanes>::abs)
    }
    #[inline(always)]
    fn min_c(self, x: f64) -> Self {
        self.map(|a| a.min_c(x))
    }
    #[inline(always)]
    fn max_c(self, x: f64) -> Self {
        self.map(|a| a.max_c(x))
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::min)
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::max)
    }
    #[inline(always)]
    fn recip_mul(self, x: f64) -> Self {
        self.map(|a| a.recip_mul(x))
    }
}

