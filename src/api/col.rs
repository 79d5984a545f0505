//! [`Col`]: one state variable of a whole population as a burn tensor, the [`Lanes`] type
//! of the tensor engine (every operation one tensor operation over the population).

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::model::Lanes;

/// The tensor type the tensor engine computes with: burn's run-time dispatched backend,
/// so one build serves the `flex` CPU device and (feature `cuda`) a CUDA device.
pub type TensorBackend = burn::Dispatch;

/// One state variable of a whole population, as a float64 burn tensor.
#[derive(Clone, Debug)]
pub struct Col(pub burn::tensor::Tensor<TensorBackend, 1>);

/// A lane-wise boolean for [`Col`].
pub type ColMask = burn::tensor::Tensor<TensorBackend, 1, burn::tensor::Bool>;

impl Add for Col {
    type Output = Col;
    fn add(self, o: Col) -> Col {
        Col(self.0 + o.0)
    }
}
impl Sub for Col {
    type Output = Col;
    fn sub(self, o: Col) -> Col {
        Col(self.0 - o.0)
    }
}
impl Mul for Col {
    type Output = Col;
    fn mul(self, o: Col) -> Col {
        Col(self.0 * o.0)
    }
}
impl Add<f64> for Col {
    type Output = Col;
    fn add(self, o: f64) -> Col {
        Col(self.0.add_scalar(o))
    }
}
impl Sub<f64> for Col {
    type Output = Col;
    fn sub(self, o: f64) -> Col {
        Col(self.0.sub_scalar(o))
    }
}
impl Mul<f64> for Col {
    type Output = Col;
    fn mul(self, o: f64) -> Col {
        Col(self.0.mul_scalar(o))
    }
}
impl Div for Col {
    type Output = Col;
    fn div(self, o: Col) -> Col {
        Col(self.0 / o.0)
    }
}
impl Div<f64> for Col {
    type Output = Col;
    fn div(self, o: f64) -> Col {
        Col(self.0.div_scalar(o))
    }
}
impl Neg for Col {
    type Output = Col;
    fn neg(self) -> Col {
        Col(self.0.neg())
    }
}

impl Col {
    /// Uploads host values as an f64 tensor on `device`.
    pub fn from_host(v: Vec<f64>, device: &burn::DispatchDevice) -> Col {
        let n = v.len();
        Col(burn::tensor::Tensor::from_data(burn::tensor::TensorData::new(v, [n]), (device, burn::tensor::DType::F64)))
    }

    /// Copies the values to the host.
    pub fn to_host(&self) -> Vec<f64> {
        self.0.to_data().to_vec::<f64>().expect("an f64 state tensor")
    }
}

impl Lanes for Col {
    type Mask = ColMask;
    fn gt(&self, x: f64) -> ColMask {
        self.0.clone().greater_elem(x)
    }
    fn ge(&self, x: f64) -> ColMask {
        self.0.clone().greater_equal_elem(x)
    }
    fn lt(&self, x: f64) -> ColMask {
        self.0.clone().lower_elem(x)
    }
    fn le(&self, x: f64) -> ColMask {
        self.0.clone().lower_equal_elem(x)
    }
    fn gt_lanes(&self, o: &Col) -> ColMask {
        self.0.clone().greater(o.0.clone())
    }
    fn select(mask: &ColMask, a: Col, b: Col) -> Col {
        Col(b.0.mask_where(mask.clone(), a.0))
    }
    fn select_const(mask: &ColMask, x: f64, b: Col) -> Col {
        Col(b.0.mask_fill(mask.clone(), x))
    }
    fn and_not(a: &ColMask, b: &ColMask) -> ColMask {
        a.clone().bool_and(b.clone().bool_not())
    }
    fn and(a: &ColMask, b: &ColMask) -> ColMask {
        a.clone().bool_and(b.clone())
    }
    fn or(a: &ColMask, b: &ColMask) -> ColMask {
        a.clone().bool_or(b.clone())
    }
    fn not(a: &ColMask) -> ColMask {
        a.clone().bool_not()
    }
    fn exp(self) -> Col {
        Col(self.0.exp())
    }
    fn ln(self) -> Col {
        Col(self.0.log())
    }
    fn sqrt(self) -> Col {
        Col(self.0.sqrt())
    }
    fn abs(self) -> Col {
        Col(self.0.abs())
    }
    fn min_c(self, x: f64) -> Col {
        let m = self.0.clone().greater_elem(x);
        Col(self.0.mask_fill(m, x))
    }
    fn max_c(self, x: f64) -> Col {
        let m = self.0.clone().lower_elem(x);
        Col(self.0.mask_fill(m, x))
    }
    fn min(self, o: Col) -> Col {
        let m = self.0.clone().greater(o.0.clone());
        Col(self.0.mask_where(m, o.0))
    }
    fn max(self, o: Col) -> Col {
        let m = self.0.clone().lower(o.0.clone());
        Col(self.0.mask_where(m, o.0))
    }
    fn recip_mul(self, x: f64) -> Col {
        Col(self.0.clone().full_like(x) / self.0)
    }
}
