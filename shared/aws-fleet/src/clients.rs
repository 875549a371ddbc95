//! One Auto Scaling and one EC2 client per region, built on first use from
//! the shared SDK configuration (a node group may span regions).

use std::collections::HashMap;
use std::sync::Mutex;

use streamfleet_core::names::Region;

pub struct Clients {
    sdk: aws_config::SdkConfig,
    by_region: Mutex<HashMap<String, (aws_sdk_autoscaling::Client, aws_sdk_ec2::Client)>>,
    /// Given clients, for every region (request-level tests).
    fixed: Option<(aws_sdk_autoscaling::Client, aws_sdk_ec2::Client)>,
}

impl Clients {
    pub fn new(sdk: aws_config::SdkConfig) -> Self {
        Self { sdk, by_region: Mutex::new(HashMap::new()), fixed: None }
    }

    /// The same two clients for every region.
    pub fn fixed(autoscaling: aws_sdk_autoscaling::Client, ec2: aws_sdk_ec2::Client) -> Self {
        let sdk = aws_config::SdkConfig::builder().build();
        Self { sdk, by_region: Mutex::new(HashMap::new()), fixed: Some((autoscaling, ec2)) }
    }

    fn pair(&self, region: &Region) -> (aws_sdk_autoscaling::Client, aws_sdk_ec2::Client) {
        if let Some(fixed) = &self.fixed {
            return fixed.clone();
        }
        let mut clients = self.by_region.lock().expect("clients lock");
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let sdk_region = aws_config::Region::new(region.to_string());
                let autoscaling =
                    aws_sdk_autoscaling::config::Builder::from(&self.sdk).region(sdk_region.clone()).build();
                let ec2 = aws_sdk_ec2::config::Builder::from(&self.sdk).region(sdk_region).build();
                (aws_sdk_autoscaling::Client::from_conf(autoscaling), aws_sdk_ec2::Client::from_conf(ec2))
            })
            .clone()
    }

    pub fn autoscaling(&self, region: &Region) -> aws_sdk_autoscaling::Client {
        self.pair(region).0
    }

    pub fn ec2(&self, region: &Region) -> aws_sdk_ec2::Client {
        self.pair(region).1
    }
}
