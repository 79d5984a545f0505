//! SpikingFlow's functional helpers against the seed's examples and against the formulas
//! computed independently on the host.

use burn::tensor::{Tensor, TensorData};
use burn::{Dispatch, DispatchDevice};
use spikeworld_train_surrogate::functional::{Kernel, SimilarLoss, first_spike_index, kernel_dot_product, redundant_one_hot, spike_similar_loss};

/// A kernel value of rows (i, j), computed on the host.
type Formula<'a> = Box<dyn Fn(usize, usize) -> f64 + 'a>;

fn dev() -> DispatchDevice {
    DispatchDevice::Flex(Default::default())
}

fn t2(v: &[f32], shape: [usize; 2]) -> Tensor<Dispatch, 2> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), &dev())
}

fn host(t: Tensor<Dispatch, 2>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec().unwrap()
}

#[test]
fn redundant_one_hot_is_the_seeds_example() {
    let codes = host(redundant_one_hot::<Dispatch>(&[0, 1, 1, 0], 3, 2, &dev()));
    #[rustfmt::skip]
    let want = [1., 1., 0., 0., 0., 0.,
                0., 0., 1., 1., 0., 0.,
                0., 0., 1., 1., 0., 0.,
                1., 1., 0., 0., 0., 0.];
    assert_eq!(codes, want);
}

#[test]
fn first_spike_index_is_the_seeds_example() {
    #[rustfmt::skip]
    let spikes = [
        0., 0., 0., 0., 0., 0., 0., 0.,
        1., 0., 0., 0., 0., 0., 1., 0.,
        0., 1., 0., 0., 0., 1., 0., 1.,
        0., 0., 1., 1., 0., 0., 0., 1.,
        1., 1., 0., 0., 1., 0., 0., 0.,
        0., 0., 0., 1., 0., 0., 0., 0.,
    ];
    let idx: Vec<bool> = host(first_spike_index(t2(&spikes, [6, 8])).float()).into_iter().map(|x| x == 1.0).collect();
    let first: Vec<Option<usize>> = idx.chunks(8).map(|r| r.iter().position(|&b| b)).collect();
    assert_eq!(first, vec![None, Some(0), Some(1), Some(2), Some(0), Some(3)]);
    assert_eq!(idx.iter().filter(|&&b| b).count(), 5, "one true per neuron that spikes");
}

fn x_y() -> (Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..12).map(|i| ((i * 7 % 5) as f32 - 2.0) * 0.3).collect();
    let y: Vec<f32> = (0..12).map(|i| ((i * 3 % 7) as f32 - 3.0) * 0.2).collect();
    (x, y)
}

#[test]
fn kernel_dot_product_matches_the_formulas() {
    let (x, y) = x_y();
    let (n, m) = (3, 4);
    let dot = |i: usize, j: usize| (0..m).map(|k| f64::from(x[i * m + k]) * f64::from(y[j * m + k])).sum::<f64>();
    let dist2 = |i: usize, j: usize| (0..m).map(|k| (f64::from(x[i * m + k]) - f64::from(y[j * m + k])).powi(2)).sum::<f64>();
    let cases: [(Kernel, Formula); 4] = [
        (Kernel::Linear, Box::new(dot)),
        (Kernel::Polynomial(3), Box::new(move |i, j| dot(i, j).powi(3))),
        (Kernel::Sigmoid(0.7), Box::new(move |i, j| 1.0 / (1.0 + (-0.7 * dot(i, j)).exp()))),
        (Kernel::Gaussian(1.3), Box::new(move |i, j| (-dist2(i, j) / (2.0 * 1.3 * 1.3)).exp())),
    ];
    for (k, f) in cases {
        let got = host(kernel_dot_product(t2(&x, [n, m]), t2(&y, [n, m]), k));
        for i in 0..n {
            for j in 0..n {
                let want = f(i, j);
                assert!((f64::from(got[i * n + j]) - want).abs() < 1e-5 * (1.0 + want.abs()), "{k:?} ({i}, {j}): {} vs {want}", got[i * n + j]);
            }
        }
    }
}

#[test]
fn spike_similar_loss_matches_the_formula() {
    // N = 3 samples, M = 2 neurons, T = 3 steps; samples 0 and 2 share class 1.
    let spikes: Vec<f32> = vec![1., 0., 1., 0., 1., 0., 0., 0., 1., 1., 1., 0., 1., 1., 0., 0., 1., 1.];
    let labels: Vec<f32> = vec![0., 1., 0., 1., 0., 0., 0., 1., 1.];
    let (n, mt) = (3, 6);
    let sim = |i: usize, j: usize| if (0..3).any(|c| labels[i * 3 + c] == 1.0 && labels[j * 3 + c] == 1.0) { 1.0 } else { 0.0 };
    let v = |i: usize| &spikes[i * mt..(i + 1) * mt];
    let dot = |i: usize, j: usize| v(i).iter().zip(v(j)).map(|(a, b)| f64::from(a * b)).sum::<f64>();
    let norm = |i: usize| dot(i, i).sqrt();
    let cases: [(Kernel, SimilarLoss, Formula); 3] = [
        (Kernel::Linear, SimilarLoss::Mse, Box::new(move |i, j| dot(i, j) / (norm(i) * norm(j)))),
        (Kernel::Linear, SimilarLoss::L1, Box::new(move |i, j| dot(i, j) / (norm(i) * norm(j)))),
        (Kernel::Gaussian(2.0), SimilarLoss::Bce, Box::new(move |i, j| (-(dot(i, i) + dot(j, j) - 2.0 * dot(i, j)) / 8.0).exp())),
    ];
    for (k, l, p) in cases {
        let mut want = 0.0;
        for i in 0..n {
            for j in 0..n {
                let (s, q) = (sim(i, j), p(i, j).clamp(1e-7, 1.0 - 1e-7));
                want += match l {
                    SimilarLoss::Mse => (q - s).powi(2),
                    SimilarLoss::L1 => (q - s).abs(),
                    SimilarLoss::Bce => -(s * q.ln() + (1.0 - s) * (1.0 - q).ln()),
                };
            }
        }
        want /= (n * n) as f64;
        let sp = Tensor::<Dispatch, 3>::from_data(TensorData::new(spikes.clone(), [3, 2, 3]), &dev());
        let got: f32 = spike_similar_loss(sp, t2(&labels, [3, 3]), k, l).into_data().convert::<f32>().to_vec::<f32>().unwrap()[0];
        assert!((f64::from(got) - want).abs() < 1e-5 * (1.0 + want), "{k:?} {l:?}: {got} vs {want}");
    }
}
