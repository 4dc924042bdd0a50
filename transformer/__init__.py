"""A from-scratch transformer, small enough to read in one sitting.

One idea per module:

- ``shapes``    -- the shape of every tensor in self-attention, and what it costs (coursework Q1)
- ``attention`` -- single-head self-attention, step by step (coursework Q2.1)
- ``multihead`` -- multi-head attention written with einsum, the coursework's variable names (Q3.1)
- ``text``      -- a sentence to tokens to seeded vectors, for the step-by-step page (Q2.1)
- ``model``     -- a transformer block, a small patch classifier built from those pieces, and a CNN baseline
- ``data``      -- the 8x8 handwritten digits, shipped with the repo, cut into patch tokens
- ``train``     -- a deterministic training loop that yields one record per epoch (Q3.2)
- ``analysis``  -- inside a trained classifier: predictions, confusion matrix, the class token's attention
- ``receptive`` -- receptive field of attention and convolution layers, measured with gradients (Q2.3)
- ``protocol``  -- what every training is (a config that builds, trains, and knows its kind and its cost)
- ``decoder``   -- the causal decoder every GPT-style model here is: the same block, run with the causal mask;
  what every decoder task shares (its config's base, the training loop, the record)
- ``sequence``  -- that decoder trained on reverse / sort / copy, and what its heads do (page 6)
- ``induction`` -- the induction task and its own config: a random run repeated once; the prefix-matching and
  previous-token scores
- ``language``  -- a small generated language ("then it meowed") and the decoder that learns it, measured per head
- ``generate``  -- a decoder that writes: sampling (temperature, top-k, top-p) with or without a KV cache
- ``ablation``  -- knock heads out (their output zeroed) and measure what breaks
- ``patching``  -- activation patching: what a head's output, or the residual at a position, restores of an answer
- ``lens``      -- the logit lens: each layer's residual read out through the final norm and head
- ``robustness`` -- trained classifiers under noise, occlusion, a second digit, shifts and a larger canvas
- ``timing``    -- one attention layer and one convolution timed against the number of tokens

This file imports nothing heavy, so ``import transformer`` stays cheap; import the submodules you need.
The package never imports streamlit and never prints.
"""
